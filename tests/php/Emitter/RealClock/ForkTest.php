<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * Threads do not survive fork (php-fpm forks its workers; CLI workers use pcntl_fork): a
 * child must get a runtime of its own, and the parent's must keep working.
 */
final class ForkTest extends TestCase
{
    public function testTimersWorkInTheChildAndKeepWorkingInTheParent(): void
    {
        $file = tempnam(sys_get_temp_dir(), 'sse-fork-');
        try {
            $result = PhpProcess::start('fork.php', [$file])->wait(30);
        } finally {
            @unlink($file);
        }

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertGreaterThanOrEqual(5, $report['before_fork'], 'the parent ticked before the fork');
        self::assertSame(0, $report['child_exit'], 'the child exited normally: ' . $result->describe());

        $child = $report['child'];
        self::assertIsArray($child, 'the child wrote its report: ' . $result->describe());
        self::assertSame([], $child['threads_at_fork'], 'only the forking thread exists in the child');
        self::assertSame(10, $child['fresh_ticks'], 'a new emitter in the child ticks');
        self::assertLessThan(5.0, $child['fresh_seconds'], '10 ticks of 10 ms, not a hang');
        self::assertGreaterThanOrEqual(3, $child['inherited_ticks'], 'the inherited emitter keeps ticking in the child');
        self::assertSame(['sse-runtime'], $child['threads_after'], 'one runtime thread of its own');

        // 0.2 s of 10 ms ticks while the child ran; half is plenty on a loaded machine.
        self::assertGreaterThanOrEqual(10, $report['parent_after_fork'], 'the parent kept ticking after the fork');
        self::assertGreaterThan($report['parent_after_fork'], $report['parent_after_wait'], 'and after the child exited');
    }
}
