<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * For a test case whose tests set the request's Last-Event-ID (the header in $_SERVER, the
 * `lastEventId` query parameter in $_GET): each test starts without one, and $_SERVER and $_GET
 * are left as they were found. The hooks run before setUp() and after tearDown().
 */
trait LastEventIdIsolation
{
    /** @var array{0: array<string, mixed>, 1: array<string, mixed>}|null */
    private ?array $requestGlobals = null;

    /** @before */
    #[\PHPUnit\Framework\Attributes\Before]
    public function isolateLastEventId(): void
    {
        $this->requestGlobals = [$_SERVER, $_GET];
        unset($_SERVER['HTTP_LAST_EVENT_ID'], $_GET['lastEventId']);
    }

    /** @after */
    #[\PHPUnit\Framework\Attributes\After]
    public function restoreLastEventId(): void
    {
        if ($this->requestGlobals !== null) {
            [$_SERVER, $_GET] = $this->requestGlobals;
            $this->requestGlobals = null;
        }
    }
}
