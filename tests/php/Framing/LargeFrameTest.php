<?php

/**
 * Large frames (from 4 KiB on, written straight into the PHP string at their exact length):
 * the same bytes as the plain rule gives, for every kind of line break, for data and comments,
 * around the size where the extension switches from its reused buffer to writing in place.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Sse\InvalidEventException;
use Sse\ServerSentEvents;

final class LargeFrameTest extends TestCase
{
    /** Each line of $value (split on CRLF, CR, LF) as "$prefix$line\n". */
    private static function lines(string $prefix, string $value): string
    {
        $out = '';
        foreach (preg_split('/\r\n|\r|\n/', $value) as $line) {
            $out .= $prefix . $line . "\n";
        }
        return $out;
    }

    /** @return iterable<string, array{string}> */
    public static function largeValues(): iterable
    {
        $line = str_repeat('0123456789abcdé ', 4);
        yield 'one long line' => [str_repeat('x', 70_000)];
        yield 'LF lines, 64 KiB' => [implode("\n", array_fill(0, 1024, $line))];
        yield 'LF lines ending with a break' => [str_repeat("$line\n", 300)];
        yield 'CRLF lines' => [implode("\r\n", array_fill(0, 300, $line))];
        yield 'CR lines and empty lines' => [implode("\r", array_fill(0, 300, $line)) . "\r\r\n\n"];
        yield 'mixed breaks' => [str_repeat("$line\r\n$line\r$line\n\n", 100)];
        for ($n = 4050; $n <= 4100; $n += 5) {
            yield "$n bytes, the frame about 4 KiB" => [str_repeat('y', $n)];
        }
        yield '1 MiB of LF lines' => [implode("\n", array_fill(0, 16_384, $line))];
    }

    #[DataProvider('largeValues')]
    /** @dataProvider largeValues */
    public function testDataFramesAsThePlainRuleSays(string $data): void
    {
        $frame = (string) new ServerSentEvents(['event' => 'big', 'id' => '7', 'retry' => 1500, 'data' => $data]);

        self::assertSame("event: big\nid: 7\nretry: 1500\n" . self::lines('data: ', $data) . "\n", $frame);
        self::assertSame($data, (new ServerSentEvents(['data' => $data]))->getData());
    }

    #[DataProvider('largeValues')]
    /** @dataProvider largeValues */
    public function testCommentFramesAsThePlainRuleSays(string $comment): void
    {
        $frame = (string) new ServerSentEvents(['comment' => $comment, 'data' => 'x']);

        self::assertSame(self::lines(': ', $comment) . "data: x\n\n", $frame);
    }

    public function testTheFrameIsAnOrdinaryPhpString(): void
    {
        $data = implode("\n", array_fill(0, 2000, 'line'));
        $frame = (string) ServerSentEvents::message($data);
        $copy = $frame;
        $copy .= 'more';

        self::assertSame(strlen(self::lines('data: ', $data)) + 1, strlen($frame));
        self::assertStringEndsWith("data: line\n\n", $frame);
        self::assertStringEndsWith("\n\nmore", $copy);
        self::assertSame(1, preg_match('/^(data: line\n){2000}\n$/', $frame), 'the frame is whole and valid UTF-8');
    }

    public function testABadByteFarIntoLargeDataIsNamed(): void
    {
        $data = str_repeat("ok\n", 100_000);
        $data[250_001] = "\xff";

        $this->expectException(InvalidEventException::class);
        $this->expectExceptionMessage('bad byte at 250001');
        new ServerSentEvents(['data' => $data]);
    }
}
