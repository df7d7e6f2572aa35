<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * One background thread per process, started lazily by the first real wait (never by module
 * startup, which php-fpm runs before forking), named so that it can be told apart in top/ps.
 */
final class RuntimeThreadTest extends TestCase
{
    public function testOneNamedThreadAfterTheFirstRealWaitAndStillOneAfterManyStreams(): void
    {
        $result = PhpProcess::start('runtime_thread.php')->wait(30);

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertSame([], $report['before'], 'no thread but the main one at startup');
        self::assertSame([], $report['after_virtual_wait'], 'the virtual clock needs no thread');
        self::assertSame(['sse-runtime'], $report['after_first_wait']);
        self::assertSame(['sse-runtime'], $report['after_many_streams']);
    }

    /**
     * A process-directed signal goes to any thread that does not block it. PHP's handlers
     * (pcntl's queue, the SIGPROF of max_execution_time) assume the PHP thread: pcntl guards
     * its queue with sigprocmask(), which only masks the calling thread. So the runtime
     * thread must block them, leaving the PHP thread to take every signal.
     */
    public function testTheRuntimeThreadBlocksTheSignalsPhpHandles(): void
    {
        $result = PhpProcess::start('runtime_thread.php')->wait(30);
        self::assertSame(0, $result->exitCode, $result->describe());
        $mask = $result->report()['runtime_blocked_signals'];
        self::assertIsString($mask, 'the sse-runtime thread exists');

        // Signals 1..32 are the low 32 bits of the mask.
        $blocked = (int) hexdec(substr($mask, -8));
        $signals = ['SIGHUP' => SIGHUP, 'SIGINT' => SIGINT, 'SIGQUIT' => SIGQUIT, 'SIGUSR1' => SIGUSR1,
            'SIGUSR2' => SIGUSR2, 'SIGALRM' => SIGALRM, 'SIGTERM' => SIGTERM, 'SIGCHLD' => SIGCHLD, 'SIGPROF' => SIGPROF];
        $open = [];
        foreach ($signals as $name => $number) {
            if (($blocked & (1 << ($number - 1))) === 0) {
                $open[] = $name;
            }
        }
        self::assertSame([], $open, "BUG in ext-sse: the sse-runtime thread can receive these signals (SigBlk $mask)");
    }
}
