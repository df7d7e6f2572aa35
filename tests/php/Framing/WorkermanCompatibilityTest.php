<?php

/**
 * Sse\ServerSentEvents is a drop-in for Workerman's class: for every input Workerman frames
 * correctly (no CR in any value, one-line comments, one-line event and id, string data), the
 * bytes must be identical, so existing Workerman code and its tests keep working.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing;

use PHPUnit\Framework\TestCase;
use Sse\ServerSentEvents;
use Sse\Tests\Framing\Fixtures\WorkermanServerSentEvents;

require_once __DIR__ . '/Fixtures/WorkermanServerSentEvents.php';

final class WorkermanCompatibilityTest extends TestCase
{
    /** @return iterable<string, array{array<string, mixed>}> */
    public static function inputsWorkermanHandles(): iterable
    {
        yield 'the Workerman manual example' => [['event' => 'ping', 'data' => 'some thing', 'id' => 1000]];
        yield 'every field' => [['' => 'note', 'event' => 'e', 'id' => 'i', 'retry' => 5000, 'data' => 'd']];
        yield 'keys in another order' => [['data' => 'd', 'retry' => 1, 'id' => 2, '' => 'c', 'event' => 'e']];
        yield 'data only' => [['data' => 'hello']];
        yield 'multi-line data' => [['data' => "a\nb\nc"]];
        yield 'blank line in data' => [['data' => "a\n\nb"]];
        yield 'trailing line feed in data' => [['data' => "a\n"]];
        yield 'leading line feed in data' => [['data' => "\na"]];
        yield 'data is one line feed' => [['data' => "\n"]];
        yield "empty data ''" => [['data' => '']];
        yield "data '0'" => [['data' => '0']];
        yield 'data with leading spaces and a colon' => [['data' => '  : x']];
        yield 'unicode and emoji data' => [['data' => "Zoë 😀 \u{2028} \u{85} \t"]];
        yield 'NUL in data' => [['data' => "a\0b"]];
        yield 'data that looks like fields' => [['data' => "ok\n\nevent: evil\ndata: x"]];
        yield '64 KiB of data in 1024 lines' => [['data' => implode("\n", array_fill(0, 1024, str_repeat('x', 63)))]];
        yield 'int id 0' => [['id' => 0, 'data' => 'x']];
        yield "string id '0'" => [['id' => '0', 'data' => 'x']];
        yield 'negative int id' => [['id' => -1, 'data' => 'x']];
        yield 'float id' => [['id' => 1.5, 'data' => 'x']];
        yield 'empty id' => [['id' => '', 'data' => 'x']];
        yield 'unicode id with spaces' => [['id' => 'ид 😀', 'data' => 'x']];
        yield "empty event ''" => [['event' => '', 'data' => 'x']];
        yield "event '0'" => [['event' => '0']];
        yield 'retry 0' => [['retry' => 0]];
        yield 'retry as digits' => [['retry' => '3000', 'data' => 'x']];
        yield "empty comment ''" => [['' => '']];
        yield 'comment with data' => [['' => 'keep-alive', 'data' => 'x']];
        yield 'null values are left out' => [['' => null, 'event' => null, 'id' => null, 'retry' => null, 'data' => null]];
        yield 'some null values' => [['event' => 'e', 'id' => null, 'data' => 'x']];
        yield 'no fields' => [[]];
    }

    /**
     * @dataProvider inputsWorkermanHandles
     * @param array<string, mixed> $fields
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('inputsWorkermanHandles')]
    public function testSameBytesAsWorkerman(array $fields): void
    {
        self::assertSame((string) new WorkermanServerSentEvents($fields), (string) new ServerSentEvents($fields));
    }

    /** The fixture itself, against the frame written out by hand. */
    public function testTheWorkermanFixtureFramesTheManualExample(): void
    {
        self::assertSame(
            "event: ping\nid: 1000\ndata: some thing\n\n",
            (string) new WorkermanServerSentEvents(['event' => 'ping', 'data' => 'some thing', 'id' => 1000]),
        );
        self::assertSame(": c\ndata: a\ndata: b\n\n", (string) new WorkermanServerSentEvents(['data' => "a\nb", '' => 'c']));
    }

    /** Where Workerman's output would break the stream, the extension differs on purpose. */
    public function testDiffersFromWorkermanOnlyWhereWorkermanBreaksTheFrame(): void
    {
        $fields = ['data' => "x\rid: 666"];
        self::assertSame("data: x\rid: 666\n\n", (string) new WorkermanServerSentEvents($fields));
        self::assertSame("data: x\ndata: id: 666\n\n", (string) new ServerSentEvents($fields));

        $fields = ['' => "a\nb"];
        self::assertSame(": a\nb\n\n", (string) new WorkermanServerSentEvents($fields));
        self::assertSame(": a\n: b\n\n", (string) new ServerSentEvents($fields));
    }
}
