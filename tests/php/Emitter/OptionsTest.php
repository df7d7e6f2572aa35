<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;

/** Every bad option is refused at construction, with a message that names the option. */
final class OptionsTest extends TestCase
{
    /** @return iterable<string, array{array<mixed>, string}> */
    public static function badOptions(): iterable
    {
        yield 'unknown key' => [['hartbeat' => 5], 'hartbeat'];
        yield 'integer key' => [[5], '0'];
        yield 'negative retry' => [['retry' => -1], 'retry'];
        yield 'fractional retry' => [['retry' => 1.5], 'retry'];
        yield 'retry as words' => [['retry' => 'soon'], 'retry'];
        yield 'fractional retry as text' => [['retry' => '1.5'], 'retry'];
        yield 'negative retry as text' => [['retry' => '-1'], 'retry'];
        yield 'retry with a unit' => [['retry' => '1000ms'], 'retry'];
        yield 'empty retry' => [['retry' => ''], 'retry'];
        yield 'negative heartbeat' => [['heartbeat' => -1], 'heartbeat'];
        yield 'infinite heartbeat' => [['heartbeat' => INF], 'heartbeat'];
        yield 'NAN heartbeat' => [['heartbeat' => NAN], 'heartbeat'];
        yield 'heartbeat as words' => [['heartbeat' => 'often'], 'heartbeat'];
        yield 'heartbeat INF as text' => [['heartbeat' => 'INF'], 'heartbeat'];
        yield 'heartbeat NAN as text' => [['heartbeat' => 'nan'], 'heartbeat'];
        yield 'negative heartbeat as text' => [['heartbeat' => '-1'], 'heartbeat'];
        yield 'heartbeat with a unit' => [['heartbeat' => '15s'], 'heartbeat'];
        yield 'negative maxDuration' => [['maxDuration' => -0.5], 'maxDuration'];
        yield 'infinite maxDuration' => [['maxDuration' => INF], 'maxDuration'];
        yield 'NAN maxDuration' => [['maxDuration' => NAN], 'maxDuration'];
        yield 'headers not an array' => [['headers' => 'X-A: b'], 'headers'];
        yield 'header without a name' => [['headers' => ['X-A: b']], 'headers'];
        yield 'LF in a header name' => [['headers' => ["X-A\nInjected" => 'v']], 'headers'];
        yield 'CR in a header name' => [['headers' => ["X-A\rInjected" => 'v']], 'headers'];
        yield 'NUL in a header name' => [['headers' => ["X-A\0" => 'v']], 'headers'];
        yield 'colon in a header name' => [['headers' => ['X-A: b' => 'v']], 'headers'];
        yield 'CRLF in a header value' => [['headers' => ['X-A' => "v\r\nSet-Cookie: a=b"]], 'headers'];
        yield 'LF in a header value' => [['headers' => ['X-A' => "v\nw"]], 'headers'];
        yield 'NUL in a header value' => [['headers' => ['X-A' => "v\0"]], 'headers'];
        yield 'Connection header' => [['headers' => ['Connection' => 'keep-alive']], 'headers'];
        yield 'connection in lower case' => [['headers' => ['connection' => 'close']], 'headers'];
        yield 'Keep-Alive header' => [['headers' => ['Keep-Alive' => 'timeout=5']], 'headers'];
        yield 'Transfer-Encoding header' => [['headers' => ['Transfer-Encoding' => 'chunked']], 'headers'];
        yield 'Upgrade header' => [['headers' => ['Upgrade' => 'h2c']], 'headers'];
        yield 'Content-Length header' => [['headers' => ['Content-Length' => '0']], 'headers'];
        yield 'CRLF in cors' => [['cors' => "*\r\nX-B: c"], 'cors'];
        yield 'cors not a string' => [['cors' => 1], 'cors'];
        yield 'status below 100' => [['status' => 99], 'status'];
        yield 'status above 599' => [['status' => 600], 'status'];
        yield 'status as words' => [['status' => 'ok'], 'status'];
        yield 'status out of range as text' => [['status' => '600'], 'status'];
        yield 'unknown clock' => [['clock' => 'fake'], 'clock'];
        yield 'clock not a string' => [['clock' => 1], 'clock'];
        yield 'keepTimeLimit not a bool' => [['keepTimeLimit' => 'yes'], 'keepTimeLimit'];
    }

    /**
     * @dataProvider badOptions
     * @param array<mixed> $options
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('badOptions')]
    public function testABadOptionIsRefusedByName(array $options, string $name): void
    {
        try {
            new SseEmitter($options);
        } catch (\InvalidArgumentException $e) {
            self::assertStringStartsWith("Invalid option \"$name\": ", $e->getMessage());
            self::assertNotInstanceOf(\Sse\InvalidEventException::class, $e, 'an option is not an event field');

            return;
        }
        self::fail('accepted ' . var_export($options, true));
    }

    public function testTheUnknownKeyMessageListsTheOptions(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('the options are retry, heartbeat, maxDuration, headers, cors, status, clock and keepTimeLimit');

        new SseEmitter(['max_duration' => 5]);
    }

    public function testTheOffendingHeaderIsNamed(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessageMatches('/\bConnection\b/');

        new SseEmitter(['headers' => ['X-Fine' => 'ok', 'Connection' => 'keep-alive']]);
    }

    /** @return iterable<string, array{array<mixed>}> */
    public static function goodOptions(): iterable
    {
        yield 'none' => [[]];
        yield 'all of them' => [[
            'retry' => 0,
            'heartbeat' => 0.5,
            'maxDuration' => 30,
            'headers' => ['X-A' => 'b', 'X-N' => 1],
            'cors' => '*',
            'status' => 200,
            'clock' => 'real',
            'keepTimeLimit' => true,
        ]];
        yield 'nulls where allowed' => [['retry' => null, 'cors' => null]];
        yield 'zero disables heartbeat and maxDuration' => [['heartbeat' => 0, 'maxDuration' => 0.0]];
        yield 'virtual clock' => [['clock' => 'virtual']];
        // What env() and getenv() return: numbers as strings.
        yield 'numeric strings' => [['retry' => '2000', 'heartbeat' => '15', 'maxDuration' => '0.5', 'status' => '200']];
        yield 'numeric strings with spaces and exponents' => [['retry' => ' 2000 ', 'heartbeat' => '1e1', 'maxDuration' => '30.0']];
    }

    public function testNumericStringsMeanTheirNumbers(): void
    {
        $sse = new SseEmitter(['retry' => '2000', 'clock' => 'virtual', 'maxDuration' => '1.5', 'heartbeat' => '0']);
        ob_start();
        try {
            $sse->run();
        } finally {
            $out = (string) ob_get_clean();
        }
        self::assertSame("retry: 2000\n\nretry: 2000\n\n", $out);
        self::assertSame(1.5, $sse->elapsed());
    }

    /**
     * @dataProvider goodOptions
     * @param array<mixed> $options
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('goodOptions')]
    public function testGoodOptionsAreAccepted(array $options): void
    {
        $sse = new SseEmitter($options);

        self::assertFalse($sse->isStarted(), 'constructing does not start the stream');
    }
}
