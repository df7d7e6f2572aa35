<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use PHPUnit\Framework\TestCase;

/**
 * The test app (TestApp::directory()) served for real by `php -S` (production php.ini:
 * output_buffering=4096), read by a raw socket client that notes when each byte arrives. nginx +
 * php-fpm and Apache are covered by the stack tests (tests/stacks); this one needs nothing but php.
 */
final class CliServerTest extends TestCase
{

    /** @var resource|null */
    private static $server = null;
    private static int $port = 0;
    private static string $storage = '';
    private static string $log = '';

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
        $repo = dirname(__DIR__, 3);
        $ext = \Sse\Tests\Support\Extension::path();
        self::$storage = sys_get_temp_dir() . '/sse-cli-server-' . bin2hex(random_bytes(6));
        mkdir(self::$storage, 0700, true);
        self::$log = self::$storage . '/server.log';

        // A free port: bind to 0, read it back, release it for the server.
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        self::$port = (int) substr(strrchr(stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);

        $public = TestApp::directory() . '/public';
        $command = [PHP_BINARY, '-c', self::productionIni(), '-d', "extension=$ext",
            '-S', '127.0.0.1:' . self::$port, '-t', $public, $public . '/index.php'];
        $env = ['SSE_APP_STORAGE' => self::$storage, 'PATH' => getenv('PATH') ?: '/usr/bin:/bin'];
        self::$server = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', self::$log, 'a'], 2 => ['file', self::$log, 'a']], $pipes, null, $env);

        $deadline = microtime(true) + 5;
        while (microtime(true) < $deadline) {
            $socket = @stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return;
            }
            usleep(20_000);
        }
    }

    public static function tearDownAfterClass(): void
    {
        if (is_resource(self::$server)) {
            proc_terminate(self::$server);
            proc_close(self::$server);
        }
        if (self::$storage !== '') {
            (new \Illuminate\Filesystem\Filesystem())->deleteDirectory(self::$storage);
        }
    }

    protected function setUp(): void
    {
        if (!is_resource(self::$server)) {
            self::markTestSkipped('Laravel or php.ini-production missing');
        }
    }

    /**
     * GET over HTTP/1.0 (no chunking), reading until the server closes or 10 s pass.
     *
     * @return array{head: string, body: string, arrivals: list<array{float, string}>}
     */
    private function get(string $path, array $headers = []): array
    {
        $socket = stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 2);
        self::assertNotFalse($socket, "cannot connect: $error; server log: " . @file_get_contents(self::$log));
        $request = "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n";
        foreach ($headers as $name => $value) {
            $request .= "$name: $value\r\n";
        }
        fwrite($socket, $request . "\r\n");
        stream_set_blocking($socket, false);
        $started = microtime(true);
        $raw = '';
        $arrivals = [];
        while (microtime(true) - $started < 10) {
            $read = [$socket];
            $write = $except = null;
            if (stream_select($read, $write, $except, 0, 100_000) === 0) {
                continue;
            }
            $chunk = fread($socket, 65536);
            if ($chunk === '' || $chunk === false) {
                if (feof($socket)) {
                    break;
                }
                continue;
            }
            $raw .= $chunk;
            $arrivals[] = [microtime(true) - $started, $chunk];
        }
        fclose($socket);
        [$head, $body] = explode("\r\n\r\n", $raw, 2) + [1 => ''];
        return ['head' => $head, 'body' => $body, 'arrivals' => $arrivals];
    }

    /** When the first byte of $needle had arrived, in seconds since the request. */
    private static function arrivalOf(array $arrivals, string $needle): ?float
    {
        $seen = '';
        foreach ($arrivals as [$at, $chunk]) {
            $seen .= $chunk;
            if (str_contains($seen, $needle)) {
                return $at;
            }
        }
        return null;
    }

    public function testEachTickArrivesWhenItIsSentNotAtTheEnd(): void
    {
        // Three ticks 0.4 s apart. Behind output_buffering=4096, an echo+flush() stream would
        // deliver all of them together at about 1.2 s. Times count from the response head (the
        // stream's start): booting Laravel before it takes longer on a busy machine.
        $response = $this->get('/ticks?count=3&interval=0.4');
        self::assertStringContainsString('Content-Type: text/event-stream; charset=utf-8', $response['head']);
        $opened = self::arrivalOf($response['arrivals'], "\r\n\r\n");
        $first = self::arrivalOf($response['arrivals'], "data: 1\n");
        $last = self::arrivalOf($response['arrivals'], "data: 3\n");
        self::assertNotNull($first, 'tick 1 never arrived: ' . $response['body']);
        self::assertNotNull($last, 'tick 3 never arrived: ' . $response['body']);
        self::assertLessThan(0.75, $first - $opened, 'tick 1 (sent 0.4 s after the head) arrived late');
        self::assertGreaterThan(0.6, $last - $first, 'ticks 1 and 3 (0.8 s apart) arrived together');
    }

    public function testMiddlewareCookieAndCallerHeadersReachTheClient(): void
    {
        $response = $this->get('/events');
        self::assertMatchesRegularExpression('~^HTTP/1\.[01] 200~', $response['head']);
        self::assertStringContainsString('Set-Cookie: sse_seen=yes', $response['head']);
        self::assertStringContainsString('X-Stream: events', $response['head']);
        self::assertStringContainsString('X-Accel-Buffering: no', $response['head']);
        self::assertSame(1, substr_count($response['head'], 'Cache-Control:'), $response['head']);
        self::assertStringContainsString("Cache-Control: no-cache, no-store, no-transform\r\n", $response['head']);
        self::assertStringContainsString("event: greeting\nid: 1\ndata: hello\n\n", $response['body']);
    }

    public function testAFailureIsLoggedAndTheClientSeesACleanEnd(): void
    {
        $response = $this->get('/fails');
        // The opening comment, the event sent before the failure, and nothing of the failure.
        self::assertSame(": \n\nevent: before\ndata: ok\n\n", $response['body']);
        $log = (string) @file_get_contents(self::$storage . '/logs/laravel.log');
        self::assertStringContainsString('secret failure detail', $log);
    }

    public function testTheLastEventIdHeaderReachesTheStream(): void
    {
        $response = $this->get('/resume', ['Last-Event-ID' => 'order-41']);
        self::assertSame(": \n\nevent: resume\ndata: order-41\n\n", $response['body']);
    }
}
