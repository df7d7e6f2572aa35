<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * The CLI behaviour seen from a fresh `php -d extension=...` process, where nothing else has
 * written output or touched headers or the session yet (unlike inside PHPUnit).
 */
final class CliProcessTest extends TestCase
{
    public function testNoHeadersAreSentAndEarlierOutputIsKept(): void
    {
        $result = PhpProcess::start('cli_headers.php')->wait(20);

        self::assertSame(0, $result->exitCode, $result->describe());
        self::assertSame('', $result->stderr, 'no notice: under the CLI nothing is discarded');
        [$frames] = explode("{", $result->stdout, 2);
        self::assertSame("before\nretry: 1000\n\nevent: hello\ndata: world\n\n", $frames);

        $report = $result->report();
        self::assertSame([], $report['headers_list']);
        self::assertFalse($report['http_response_code'], 'no status was set');
        self::assertSame(0, $report['ob_level']);
        self::assertSame('text/event-stream; charset=utf-8', $report['headers']['Content-Type']);
        self::assertSame('*', $report['headers']['Access-Control-Allow-Origin']);
        self::assertSame('demo', $report['headers']['X-Stream']);
    }

    public function testStartClosesAnActiveSessionAndSavesIt(): void
    {
        $dir = self::tempDir();
        $result = PhpProcess::start('session.php', [$dir, 'with'])->wait(20);

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertSame(PHP_SESSION_ACTIVE, $report['before']);
        self::assertSame(PHP_SESSION_NONE, $report['after']);
        self::assertSame('user|s:3:"ada";', $report['saved'], 'session_write_close(), not a discard');
    }

    public function testStartOpensNoSession(): void
    {
        $dir = self::tempDir();
        $result = PhpProcess::start('session.php', [$dir, 'without'])->wait(20);

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertSame(PHP_SESSION_NONE, $report['before']);
        self::assertSame(PHP_SESSION_NONE, $report['after']);
        self::assertNull($report['saved']);
    }

    private static function tempDir(): string
    {
        $dir = sys_get_temp_dir() . '/sse-session-' . bin2hex(random_bytes(6));
        mkdir($dir);
        register_shutdown_function(static function () use ($dir): void {
            array_map('unlink', glob($dir . '/*') ?: []);
            @rmdir($dir);
        });

        return $dir;
    }
}
