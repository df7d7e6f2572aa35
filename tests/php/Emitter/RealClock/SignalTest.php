<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * A native wait must let pcntl_async_signals handlers run promptly: php-fpm and supervisors
 * stop workers with SIGTERM. hrtime() reads CLOCK_MONOTONIC, which both processes share.
 * The wait is cut in 100 ms slices; the bound leaves a busy machine room for its scheduling
 * and still fails a wait that sleeps until the stream's next deadline (seconds away).
 */
final class SignalTest extends TestCase
{
    private const BOUND_NS = 1_000_000_000;

    public function testASigtermHandlerRunsWithin200MsWhileRunWaits(): void
    {
        $file = tempnam(sys_get_temp_dir(), 'sse-sigterm-');
        file_put_contents($file, '');
        try {
            $child = PhpProcess::start('sigterm.php', [$file]);
            $ready = $child->readLine(10);
            if ($ready !== 'READY') {
                self::fail("the child did not get ready:\n" . $child->wait(5)->describe());
            }
            // Let the timer callback return, so that run() is back in its wait.
            usleep(100_000);
            $sent = hrtime(true);
            posix_kill($child->pid(), SIGTERM);
            $result = $child->wait(10);
            $handled = (int) file_get_contents($file);
        } finally {
            @unlink($file);
        }

        self::assertSame(0, $result->exitCode, $result->describe());
        self::assertGreaterThan(0, $handled, 'the handler did not run: ' . $result->describe());
        $delay = $handled - $sent;
        self::assertGreaterThan(0, $delay, 'the handler ran before the signal was sent?');
        self::assertLessThan(self::BOUND_NS, $delay, sprintf('the handler ran %.1f ms after the signal', $delay / 1e6));
        $report = $result->report();
        self::assertTrue($report['closed'], 'the handler closed the stream and run() returned');
        self::assertLessThan(10.0, $report['elapsed'], 'run() returned long before maxDuration');
    }
}
