<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\HttpStream;
use Sse\Tests\Support\PhpServer;

/**
 * The test app (TestApp::directory()) served for real by `php -S` (production php.ini:
 * output_buffering=4096), read by a raw socket client that notes when each byte arrives. nginx +
 * php-fpm and Apache are covered by the stack tests (tests/stacks); this one needs nothing but php.
 */
final class CliServerTest extends TestCase
{
    private static ?PhpServer $server = null;
    private static string $storage = '';

    /** Debian's production php.ini of the PHP running the tests. */
    private static function productionIni(): string
    {
        return '/usr/lib/php/' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . '/php.ini-production';
    }

    public static function setUpBeforeClass(): void
    {
        if (!class_exists(\Illuminate\Foundation\Application::class) || !is_file(self::productionIni())) {
            return;
        }
        self::$storage = sys_get_temp_dir() . '/sse-cli-server-' . bin2hex(random_bytes(6));
        mkdir(self::$storage, 0700, true);
        $public = TestApp::directory() . '/public';
        self::$server = new PhpServer(
            $public,
            $public . '/index.php',
            ['SSE_APP_STORAGE' => self::$storage],
            ['-c', self::productionIni()],
            log: self::$storage . '/server.log',
        );
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        if (self::$storage !== '') {
            (new \Illuminate\Filesystem\Filesystem())->deleteDirectory(self::$storage);
        }
    }

    protected function setUp(): void
    {
        if (self::$server === null) {
            self::markTestSkipped('Laravel or php.ini-production missing');
        }
    }

    /** GET over HTTP/1.0 (no chunking), reading until the server closes or 10 s pass. */
    private function get(string $path, array $headers = []): HttpStream
    {
        $response = self::$server->open('GET', $path, $headers, '', '1.0');
        $response->readToEnd(10.0);
        $response->close();
        return $response;
    }

    public function testEachTickArrivesWhenItIsSentNotAtTheEnd(): void
    {
        // Three ticks 0.4 s apart. Behind output_buffering=4096, an echo+flush() stream would
        // deliver all of them together at about 1.2 s. Times count from the response head (the
        // stream's start): booting Laravel before it takes longer on a busy machine.
        $response = $this->get('/ticks?count=3&interval=0.4');
        self::assertStringContainsString('Content-Type: text/event-stream; charset=utf-8', $response->head());
        $opened = $response->arrivalOf("\r\n\r\n");
        $first = $response->arrivalOf("data: 1\n");
        $last = $response->arrivalOf("data: 3\n");
        self::assertNotNull($first, 'tick 1 never arrived: ' . $response->body());
        self::assertNotNull($last, 'tick 3 never arrived: ' . $response->body());
        self::assertLessThan(0.75, $first - $opened, 'tick 1 (sent 0.4 s after the head) arrived late');
        self::assertGreaterThan(0.6, $last - $first, 'ticks 1 and 3 (0.8 s apart) arrived together');
    }

    public function testMiddlewareCookieAndCallerHeadersReachTheClient(): void
    {
        $response = $this->get('/events');
        self::assertMatchesRegularExpression('~^HTTP/1\.[01] 200~', $response->head());
        self::assertStringContainsString('Set-Cookie: sse_seen=yes', $response->head());
        self::assertStringContainsString('X-Stream: events', $response->head());
        self::assertStringContainsString('X-Accel-Buffering: no', $response->head());
        self::assertSame(1, substr_count($response->head(), 'Cache-Control:'), $response->head());
        self::assertStringContainsString("Cache-Control: no-cache, no-store, no-transform\r\n", $response->head());
        self::assertStringContainsString("event: greeting\nid: 1\ndata: hello\n\n", $response->body());
    }

    public function testAFailureIsLoggedAndTheClientSeesACleanEnd(): void
    {
        $response = $this->get('/fails');
        // The opening comment, the event sent before the failure, and nothing of the failure.
        self::assertSame(": \n\nevent: before\ndata: ok\n\n", $response->body());
        $log = (string) @file_get_contents(self::$storage . '/logs/laravel.log');
        self::assertStringContainsString('secret failure detail', $log);
    }

    public function testTheLastEventIdHeaderReachesTheStream(): void
    {
        $response = $this->get('/resume', ['Last-Event-ID' => 'order-41']);
        self::assertSame(": \n\nevent: resume\ndata: order-41\n\n", $response->body());
    }
}
