<?php

/**
 * What an Sse\ServerSentEvents object tells about itself: the getters, toArray() and
 * jsonSerialize() (normalized values in wire order), the named constructors, and the frame.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing;

use PHPUnit\Framework\TestCase;
use Sse\ServerSentEvents;

final class EventAccessorsTest extends TestCase
{
    public function testGettersReturnTheNormalizedValues(): void
    {
        $event = new ServerSentEvents(['data' => ['a' => '/é'], 'retry' => '0750', 'id' => 5, '' => 'c', 'event' => 'e']);

        self::assertSame('e', $event->getEvent());
        self::assertSame('{"a":"/é"}', $event->getData());
        self::assertSame('5', $event->getId());
        self::assertSame(750, $event->getRetry());
        self::assertSame('c', $event->getComment());
    }

    public function testGettersReturnNullForAbsentFields(): void
    {
        $event = new ServerSentEvents(['data' => 'x', 'event' => null]);

        self::assertNull($event->getEvent());
        self::assertNull($event->getId());
        self::assertNull($event->getRetry());
        self::assertNull($event->getComment());
        self::assertSame('x', $event->getData());
    }

    public function testFalsyValuesArePresent(): void
    {
        $event = new ServerSentEvents(['event' => '', 'id' => 0, 'retry' => 0, 'data' => '0', 'comment' => '']);

        self::assertSame(['comment' => '', 'event' => '', 'id' => '0', 'retry' => 0, 'data' => '0'], $event->toArray());
    }

    public function testScalarDataIsWrittenAsPhpWritesIt(): void
    {
        self::assertSame('0', (new ServerSentEvents(['data' => 0]))->getData());
        self::assertSame('1.5', (new ServerSentEvents(['data' => 1.5]))->getData());
        self::assertSame('-0', (new ServerSentEvents(['data' => -0.0]))->getData());
        self::assertSame('1.0E+100', (new ServerSentEvents(['data' => 1e100]))->getData());
        self::assertSame('1', (new ServerSentEvents(['data' => true]))->getData());
        self::assertSame('', (new ServerSentEvents(['data' => false]))->getData());
    }

    public function testDataKeepsItsLineBreaksInTheGetter(): void
    {
        $event = new ServerSentEvents(['data' => "a\r\nb\rc"]);

        self::assertSame("a\r\nb\rc", $event->getData());
        self::assertSame("data: a\ndata: b\ndata: c\n\n", (string) $event);
    }

    public function testToArrayIsInWireOrderWhateverTheInputOrder(): void
    {
        $event = new ServerSentEvents(['data' => 'd', 'retry' => 1, 'id' => 'i', 'event' => 'e', 'comment' => 'c']);

        self::assertSame(['comment', 'event', 'id', 'retry', 'data'], array_keys($event->toArray()));
        self::assertSame(": c\nevent: e\nid: i\nretry: 1\ndata: d\n\n", (string) $event);
    }

    public function testWorkermanCommentKeyIsReportedAsComment(): void
    {
        self::assertSame(['comment' => 'hi'], (new ServerSentEvents(['' => 'hi']))->toArray());
    }

    public function testJsonSerializeIsToArray(): void
    {
        $event = new ServerSentEvents(['data' => ['k' => 1], 'id' => 'i', 'retry' => 10]);

        self::assertSame($event->toArray(), $event->jsonSerialize());
        self::assertSame('{"id":"i","retry":10,"data":"{\"k\":1}"}', json_encode($event));
    }

    public function testEmptyEvent(): void
    {
        $event = new ServerSentEvents([]);

        self::assertSame([], $event->toArray());
        self::assertSame("\n", (string) $event);
    }

    public function testMessage(): void
    {
        $event = ServerSentEvents::message('hello');

        self::assertSame(['data' => 'hello'], $event->toArray());
        self::assertSame("data: hello\n\n", (string) $event);
    }

    public function testMessageWithEventAndId(): void
    {
        $event = ServerSentEvents::message(['n' => 1], 'update', 7);

        self::assertSame(['event' => 'update', 'id' => '7', 'data' => '{"n":1}'], $event->toArray());
        self::assertSame("event: update\nid: 7\ndata: {\"n\":1}\n\n", (string) $event);
    }

    public function testMessageWithNamedArguments(): void
    {
        $event = ServerSentEvents::message(data: 2.5, id: 'a');

        self::assertSame(['id' => 'a', 'data' => '2.5'], $event->toArray());
    }

    public function testCommentDefaultsToEmpty(): void
    {
        $event = ServerSentEvents::comment();

        self::assertSame(['comment' => ''], $event->toArray());
        self::assertSame(": \n\n", (string) $event);
    }

    public function testMultiLineComment(): void
    {
        $event = ServerSentEvents::comment("one\ntwo\r\nthree");

        self::assertSame("one\ntwo\r\nthree", $event->getComment());
        self::assertSame(": one\n: two\n: three\n\n", (string) $event);
        self::assertNull($event->getData());
    }

    public function testTheClassContract(): void
    {
        $class = new \ReflectionClass(ServerSentEvents::class);

        self::assertTrue($class->isFinal());
        self::assertTrue($class->implementsInterface(\Stringable::class));
        self::assertTrue($class->implementsInterface(\JsonSerializable::class));
    }
}
