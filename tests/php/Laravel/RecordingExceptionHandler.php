<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use Illuminate\Contracts\Debug\ExceptionHandler;
use Throwable;

/** An exception handler that keeps what it was asked to report, for assertions. */
final class RecordingExceptionHandler implements ExceptionHandler
{
    /** @var list<Throwable> */
    public array $reported = [];

    public function report(Throwable $e): void
    {
        $this->reported[] = $e;
    }

    public function shouldReport(Throwable $e): bool
    {
        return true;
    }

    public function render($request, Throwable $e)
    {
        throw $e;
    }

    public function renderForConsole($output, Throwable $e): void
    {
        throw $e;
    }
}
