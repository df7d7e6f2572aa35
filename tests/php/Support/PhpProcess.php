<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * A child `php` with the sse extension loaded, running one script of tests/php/Emitter/scripts.
 *
 * The real-clock tests need a process of their own: signals, fork, fatal errors and thread
 * counts must not touch PHPUnit's process, and a child that hangs is killed after a bound so
 * that a bug shows up as a failed test instead of a stuck suite. The command is an argv array
 * (no shell), so the pid is the pid of php itself and signals reach it directly.
 */
final class PhpProcess
{
    /** @var resource */
    private $process;
    /** @var array<int, resource> */
    private array $pipes;
    private string $stdout = '';
    private string $stderr = '';
    /** How far readLine() has consumed stdout. */
    private int $lineOffset = 0;
    private ?int $exitCode = null;
    private float $startedAt;

    /**
     * @param list<string> $args
     * @param array<string, string> $ini extra -d settings
     */
    public static function start(string $script, array $args = [], array $ini = []): self
    {
        $command = [PHP_BINARY, '-d', 'extension=' . Extension::path()];
        // Errors on stderr and nothing else there: the tests read fatal messages from it.
        $ini += ['display_errors' => 'stderr', 'log_errors' => '0', 'error_reporting' => '-1'];
        foreach ($ini as $name => $value) {
            array_push($command, '-d', $name . '=' . $value);
        }
        $command[] = dirname(__DIR__) . '/Emitter/scripts/' . $script;
        array_push($command, ...$args);

        return new self($command);
    }

    /** @param list<string> $command */
    private function __construct(array $command)
    {
        $this->startedAt = hrtime(true) / 1e9;
        // Children use PHP's own allocator even when this process runs under valgrind with
        // USE_ZEND_ALLOC=0: without it, memory_limit is not enforced.
        $env = getenv();
        unset($env['USE_ZEND_ALLOC']);
        $process = proc_open($command, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->process = $process;
        $this->pipes = $pipes;
        fclose($pipes[0]);
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
    }

    public function pid(): int
    {
        return (int) proc_get_status($this->process)['pid'];
    }

    /** The next line the child wrote on stdout (without "\n"), or null if none came in time. */
    public function readLine(float $timeout): ?string
    {
        $until = hrtime(true) / 1e9 + $timeout;
        while (true) {
            $newline = strpos($this->stdout, "\n", $this->lineOffset);
            if ($newline !== false) {
                $line = substr($this->stdout, $this->lineOffset, $newline - $this->lineOffset);
                $this->lineOffset = $newline + 1;

                return $line;
            }
            $left = $until - hrtime(true) / 1e9;
            if ($left <= 0 || !$this->pump($left)) {
                return null;
            }
        }
    }

    /** Waits for the child to exit; kills it (SIGKILL) once $timeout seconds have passed. */
    public function wait(float $timeout): ProcessResult
    {
        $until = hrtime(true) / 1e9 + $timeout;
        $timedOut = false;
        while ($this->isRunning() || !feof($this->pipes[1]) || !feof($this->pipes[2])) {
            $left = $until - hrtime(true) / 1e9;
            if ($left <= 0) {
                $timedOut = true;
                proc_terminate($this->process, 9);
                break;
            }
            $this->pump(min($left, 0.05));
        }
        $seconds = hrtime(true) / 1e9 - $this->startedAt;
        $this->pump(0);
        foreach ([1, 2] as $i) {
            fclose($this->pipes[$i]);
        }
        $code = proc_close($this->process);

        return new ProcessResult($timedOut ? -1 : ($this->exitCode ?? $code), $this->stdout, $this->stderr, $timedOut, $seconds);
    }

    private function isRunning(): bool
    {
        if ($this->exitCode !== null) {
            return false;
        }
        $status = proc_get_status($this->process);
        if ($status['running']) {
            return true;
        }
        // Only the first call after the exit reports the code; a signal shows as 128 + n.
        $this->exitCode = $status['signaled'] ? 128 + $status['termsig'] : $status['exitcode'];

        return false;
    }

    /** Reads what is available within $timeout; false when both pipes are at their end. */
    private function pump(float $timeout): bool
    {
        $read = array_values(array_filter([$this->pipes[1], $this->pipes[2]], static fn ($p) => !feof($p)));
        if ($read === []) {
            return false;
        }
        $write = $except = null;
        $seconds = (int) $timeout;
        if (@stream_select($read, $write, $except, $seconds, (int) (($timeout - $seconds) * 1e6)) > 0) {
            foreach ($read as $pipe) {
                $chunk = (string) fread($pipe, 65536);
                if ($pipe === $this->pipes[1]) {
                    $this->stdout .= $chunk;
                } else {
                    $this->stderr .= $chunk;
                }
            }
        }

        return true;
    }
}
