<?php

/**
 * Sse\EventStreamParser against the WHATWG HTML spec ("Interpreting an event stream" and the
 * examples of the server-sent events section), fed whole, split at every byte position and a
 * byte at a time, with BOM, CR/LF/CRLF line ends, retry and the last event id.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing;

use PHPUnit\Framework\TestCase;
use Sse\EventStreamParser;
use Sse\ServerSentEvents;

final class EventStreamParserTest extends TestCase
{
    /**
     * A stream using most of the grammar at once: BOM, the three line ends, multi-byte
     * characters, an empty data line, ignored id (NUL) and retry (not digits), a comment, and
     * an id reset. Its events and final state are written out in the test below.
     */
    private const RICH = "\xEF\xBB\xBFretry: 1500\r\nid: 7\revent: ü😀\ndata: a\r\n\r\n"
        . "data: é€😀\rdata:\r\rid: x\0y\nretry: 1.5\ndata: b\n\n: c\nid\ndata: c\r\n\n";

    /** @return iterable<string, array{string, list<array{event: string, data: string, id: string}>, string}> */
    public static function specExamples(): iterable
    {
        yield 'three data lines make one message' => [
            "data: YHOO\ndata: +2\ndata: 10\n\n",
            [self::event("YHOO\n+2\n10")],
            '',
        ];
        yield 'comment, id, id reset, space after the colon' => [
            ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
            [self::event('first event', id: '1'), self::event('second event'), self::event(' third event')],
            '',
        ];
        yield 'empty data, a lone line feed, an unterminated block' => [
            "data\n\ndata\ndata\n\ndata:",
            [self::event(''), self::event("\n")],
            '',
        ];
        yield 'the space after the colon is optional' => [
            "data:test\n\ndata: test\n\n",
            [self::event('test'), self::event('test')],
            '',
        ];
        yield 'event types' => [
            "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
            [self::event('73857293', 'add'), self::event('2153', 'remove'), self::event('113411', 'add')],
            '',
        ];
        yield 'three messages' => [
            "data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\n"
                . "data: This is the third message.\n\n",
            [
                self::event('This is the first message.'),
                self::event("This is the second message, it\nhas two lines."),
                self::event('This is the third message.'),
            ],
            '',
        ];
        yield 'the id stays for later events' => [
            "id: 1\ndata: a\n\ndata: b\n\n",
            [self::event('a', id: '1'), self::event('b', id: '1')],
            '1',
        ];
    }

    /**
     * @dataProvider specExamples
     * @param list<array{event: string, data: string, id: string}> $events
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('specExamples')]
    public function testSpecExample(string $stream, array $events, string $lastEventId): void
    {
        self::assertSame($events, EventStreamParser::parse($stream));

        $parser = new EventStreamParser();
        self::assertSame($events, $parser->feed($stream));
        self::assertSame($lastEventId, $parser->lastEventId());
    }

    /**
     * @dataProvider specExamples
     * @param list<array{event: string, data: string, id: string}> $events
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('specExamples')]
    public function testSpecExampleSplitAtEveryBytePosition(string $stream, array $events, string $lastEventId): void
    {
        for ($at = 0; $at <= strlen($stream); $at++) {
            $parser = new EventStreamParser();
            $seen = array_merge($parser->feed(substr($stream, 0, $at)), $parser->feed(substr($stream, $at)));
            self::assertSame($events, $seen, "split at byte $at");
            self::assertSame($lastEventId, $parser->lastEventId(), "split at byte $at");
        }
    }

    public function testRichStream(): void
    {
        $parser = new EventStreamParser();

        self::assertSame([
            self::event('a', 'ü😀', '7'),
            self::event("é€😀\n", id: '7'),
            self::event('b', id: '7'),
            self::event('c'),
        ], $parser->feed(self::RICH));
        self::assertSame(1500, $parser->retry());
        self::assertSame('', $parser->lastEventId());
    }

    /** Cuts fall inside the BOM, between CR and LF, and inside multi-byte characters. */
    public function testRichStreamSplitAtEveryPairOfBytePositions(): void
    {
        $whole = EventStreamParser::parse(self::RICH);
        $length = strlen(self::RICH);
        for ($first = 0; $first <= $length; $first++) {
            for ($second = $first; $second <= $length; $second++) {
                $parser = new EventStreamParser();
                $seen = array_merge(
                    $parser->feed(substr(self::RICH, 0, $first)),
                    $parser->feed(substr(self::RICH, $first, $second - $first)),
                    $parser->feed(substr(self::RICH, $second)),
                );
                if ($seen !== $whole || $parser->retry() !== 1500 || $parser->lastEventId() !== '') {
                    self::fail("split at bytes $first and $second: " . var_export($seen, true));
                }
            }
        }
        self::assertCount(4, $whole);
    }

    public function testRichStreamAByteAtATime(): void
    {
        $parser = new EventStreamParser();
        $seen = [];
        foreach (str_split(self::RICH) as $byte) {
            array_push($seen, ...$parser->feed($byte));
        }
        self::assertSame(EventStreamParser::parse(self::RICH), $seen);
        self::assertSame(1500, $parser->retry());
    }

    public function testFeedReturnsOnlyCompletedEvents(): void
    {
        $parser = new EventStreamParser();

        self::assertSame([], $parser->feed("data: a\n"));
        self::assertSame([], $parser->feed("data: b\n"));
        self::assertSame([self::event("a\nb")], $parser->feed("\ndata: c"));
        self::assertSame([self::event('c')], $parser->feed("\n\n"));
    }

    public function testCrlfSplitBetweenFeedsIsOneLineEnd(): void
    {
        $parser = new EventStreamParser();
        $seen = [];
        foreach (["data: a\r", "\ndata: b\r", "\n\r", "\n"] as $chunk) {
            array_push($seen, ...$parser->feed($chunk));
        }
        self::assertSame([self::event("a\nb")], $seen);
    }

    public function testLoneCrEndsLines(): void
    {
        self::assertSame([self::event("a\nb", 'e')], EventStreamParser::parse("event: e\rdata: a\rdata: b\r\r"));
    }

    public function testLeadingBomIsDropped(): void
    {
        self::assertSame([self::event('a')], EventStreamParser::parse("\xEF\xBB\xBFdata: a\n\n"));
    }

    public function testBomSplitAcrossFeedsIsDropped(): void
    {
        $parser = new EventStreamParser();
        self::assertSame([], $parser->feed("\xEF"));
        self::assertSame([], $parser->feed("\xBB"));
        self::assertSame([self::event('a')], $parser->feed("\xBFdata: a\n\n"));
    }

    /** Only the first BOM of the stream is one: later, it is part of a field name. */
    public function testOnlyTheFirstBomIsDropped(): void
    {
        self::assertSame([self::event('a')], EventStreamParser::parse("\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: a\n\n"));
        self::assertSame([self::event('a')], EventStreamParser::parse("data: a\n\n\xEF\xBB\xBFdata: b\n\n"));
    }

    public function testHalfABomIsNotABom(): void
    {
        self::assertSame([self::event('a')], EventStreamParser::parse("\xEF\xBBdata: x\n\ndata: a\n\n"));
    }

    public function testInvalidUtf8BecomesReplacementCharacter(): void
    {
        self::assertSame([self::event("a\u{FFFD}b")], EventStreamParser::parse("data: a\xFFb\n\n"));
    }

    public function testUnicodeLineSeparatorsAreNotLineEnds(): void
    {
        $data = "a\u{2028}b\u{2029}c\u{85}d\x0Be\x0Cf";
        self::assertSame([self::event($data)], EventStreamParser::parse("data: $data\n\n"));
    }

    public function testUnknownFieldsAndLinesWithoutColonAreIgnored(): void
    {
        self::assertSame([self::event('a', 'x')], EventStreamParser::parse("foo: bar\nnocolon\nevent: x\nDATA: no\ndata: a\n\n"));
    }

    public function testEventTypeIsResetAfterEachDispatch(): void
    {
        self::assertSame(
            [self::event('x', 'a'), self::event('y')],
            EventStreamParser::parse("event: a\ndata: x\n\ndata: y\n\n"),
        );
    }

    public function testEventTypeWithoutDataIsDropped(): void
    {
        self::assertSame([self::event('y')], EventStreamParser::parse("event: a\n\ndata: y\n\n"));
    }

    public function testRetry(): void
    {
        $parser = new EventStreamParser();
        self::assertNull($parser->retry());

        $parser->feed("retry: 1500\n");
        self::assertSame(1500, $parser->retry(), 'retry applies without waiting for a blank line');

        $parser->feed("retry: 1.5\nretry: soon\nretry: -1\nretry:\nretry:  20\n\n");
        self::assertSame(1500, $parser->retry(), 'values that are not only digits are ignored');

        $parser->feed("retry: 0\n");
        self::assertSame(0, $parser->retry());

        $parser->feed("retry:0750\n");
        self::assertSame(750, $parser->retry());
    }

    public function testLastEventId(): void
    {
        $parser = new EventStreamParser();
        self::assertSame('', $parser->lastEventId());

        $parser->feed("id: 7\n");
        self::assertSame('', $parser->lastEventId(), 'the id takes effect when the block ends');

        $parser->feed("\n");
        self::assertSame('7', $parser->lastEventId(), 'even when the block dispatched no event');

        $parser->feed("id: a\0b\ndata: x\n\n");
        self::assertSame('7', $parser->lastEventId(), 'an id with NUL is ignored');

        $parser->feed("id:  spaced id ü\n\n");
        self::assertSame(' spaced id ü', $parser->lastEventId());

        $parser->feed("id\n\n");
        self::assertSame('', $parser->lastEventId(), 'an empty id resets it');
    }

    /** The framer and the parser agree: what is framed is what a client reads. */
    public function testReadsBackFramedEvents(): void
    {
        $frames = (string) new ServerSentEvents(['event' => 'e', 'id' => 'i', 'retry' => 5, 'data' => "a\r\nb\rc\n", 'comment' => "x\ny"])
            . ServerSentEvents::comment("evil\n\ndata: x")
            . ServerSentEvents::message(['k' => 'v'])
            . ServerSentEvents::message("ok\n\nevent: evil\ndata: x");

        $parser = new EventStreamParser();
        self::assertSame([
            self::event("a\nb\nc\n", 'e', 'i'),
            self::event('{"k":"v"}', id: 'i'),
            self::event("ok\n\nevent: evil\ndata: x", id: 'i'),
        ], $parser->feed($frames));
        self::assertSame(5, $parser->retry());
    }

    /** @return array{event: string, data: string, id: string} */
    private static function event(string $data, string $event = 'message', string $id = ''): array
    {
        return ['event' => $event, 'data' => $data, 'id' => $id];
    }
}
