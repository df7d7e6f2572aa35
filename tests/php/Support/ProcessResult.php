<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/** How a child php ended: its exit code (-1 when it had to be killed), output and duration. */
final class ProcessResult
{
    public function __construct(
        public readonly int $exitCode,
        public readonly string $stdout,
        public readonly string $stderr,
        public readonly bool $timedOut,
        public readonly float $seconds,
    ) {
    }

    /** Everything the child wrote, for assertion messages. */
    public function describe(): string
    {
        return sprintf(
            "exit code %d%s after %.2f s\n--- stdout ---\n%s\n--- stderr ---\n%s",
            $this->exitCode,
            $this->timedOut ? ' (killed: it did not exit in time)' : '',
            $this->seconds,
            $this->stdout,
            $this->stderr,
        );
    }

    /**
     * The JSON report a script prints as its last stdout line.
     * @return array<string, mixed>
     */
    public function report(): array
    {
        $lines = preg_split('/\n/', rtrim($this->stdout, "\n"));
        $report = json_decode((string) end($lines), true);
        if (!is_array($report)) {
            throw new \UnexpectedValueException("no JSON report from the child:\n" . $this->describe());
        }

        return $report;
    }
}
