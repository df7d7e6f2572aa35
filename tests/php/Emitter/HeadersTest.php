<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;

/** headers() tells what the stream sets (under the CLI: what it would have set). */
final class HeadersTest extends TestCase
{
    public function testDefaults(): void
    {
        $headers = (new SseEmitter())->headers();

        self::assertSame('text/event-stream; charset=utf-8', $headers['Content-Type'] ?? null);
        self::assertStringContainsString('no-cache', $headers['Cache-Control'] ?? '');
        self::assertSame('no', $headers['X-Accel-Buffering'] ?? null);
        self::assertArrayNotHasKey('Access-Control-Allow-Origin', $headers, 'CORS only when asked for');
        foreach (array_keys($headers) as $name) {
            // Hop-by-hop: forbidden in HTTP/2, breaks streams behind HTTP/2 proxies.
            self::assertNotSame('connection', strtolower($name));
            self::assertNotSame('keep-alive', strtolower($name));
        }
    }

    public function testCorsSetsTheAllowOriginHeader(): void
    {
        $headers = (new SseEmitter(['cors' => 'https://app.example']))->headers();

        self::assertSame('https://app.example', $headers['Access-Control-Allow-Origin'] ?? null);
    }

    public function testExtraHeadersAreAdded(): void
    {
        $headers = (new SseEmitter(['headers' => ['X-Stream' => 'prices', 'X-Count' => 3]]))->headers();

        self::assertSame('prices', $headers['X-Stream'] ?? null);
        self::assertSame('3', $headers['X-Count'] ?? null, 'numbers become header text');
        self::assertSame('text/event-stream; charset=utf-8', $headers['Content-Type'] ?? null);
    }

    public function testTheCallerWinsCaseInsensitively(): void
    {
        $headers = (new SseEmitter([
            'cors' => '*',
            'headers' => [
                'cache-control' => 'no-cache',
                'CONTENT-TYPE' => 'text/event-stream',
                'access-control-allow-origin' => 'https://one.example',
            ],
        ]))->headers();

        self::assertSame('no-cache', self::only($headers, 'Cache-Control'));
        self::assertSame('text/event-stream', self::only($headers, 'Content-Type'));
        self::assertSame('https://one.example', self::only($headers, 'Access-Control-Allow-Origin'));
        self::assertSame('no', self::only($headers, 'X-Accel-Buffering'));
    }

    public function testHeadersDoNotDependOnStarting(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0, 'cors' => '*']);
        $before = $sse->headers();
        ob_start();
        try {
            $sse->start();
        } finally {
            ob_end_clean();
        }

        self::assertSame($before, $sse->headers());
    }

    /**
     * The value of the one header named $name in any letter case; fails on duplicates.
     * @param array<string, string> $headers
     */
    private static function only(array $headers, string $name): string
    {
        $found = array_values(array_filter(
            $headers,
            static fn (string $key): bool => strcasecmp($key, $name) === 0,
            ARRAY_FILTER_USE_KEY,
        ));
        self::assertCount(1, $found, "exactly one $name header in " . json_encode($headers));

        return $found[0];
    }
}
