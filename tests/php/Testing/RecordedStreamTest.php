<?php

declare(strict_types=1);

namespace Sse\Tests\Testing;

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\TestCase;
use Sse\Testing\RecordedStream;

/**
 * Every assertion of RecordedStream on hand-written wire bytes: it passes when it should, and
 * fails, saying what was expected and what was sent, when it should.
 */
final class RecordedStreamTest extends TestCase
{
    private const BODY = "retry: 2500\n\n"
        . ": hello\n\n"
        . "event: greeting\nid: 7\ndata: hi\n\n"
        . "event: count\ndata: {\"n\":1}\n\n"
        . "event: count\ndata: {\"n\":2}\n\n"
        . "data: plain\n\n"
        . ": keep-alive\n\n";

    private function stream(?bool $closed = true): RecordedStream
    {
        return new RecordedStream(self::BODY, ['Content-Type' => 'text/event-stream; charset=utf-8', 'X-Accel-Buffering' => 'no'], $closed);
    }

    /** Runs $assertion, which must fail; returns the failure message. */
    private function failure(callable $assertion): string
    {
        try {
            $assertion();
        } catch (AssertionFailedError $e) {
            return $e->getMessage();
        }
        self::fail('The assertion passed; it should have failed.');
    }

    public function testParsesTheBodyAsEventSourceWould(): void
    {
        $stream = $this->stream();
        self::assertSame(['greeting', 'count', 'count', 'message'], array_column($stream->events(), 'event'));
        self::assertSame(['hi', '{"n":1}', '{"n":2}', 'plain'], array_column($stream->events(), 'data'));
        self::assertSame(['7', '7', '7', '7'], array_column($stream->events(), 'id'));
        self::assertSame(2500, $stream->retry());
        self::assertSame(['hello', 'keep-alive'], $stream->comments());
        self::assertSame(self::BODY, $stream->body());
    }

    public function testAssertionsReturnTheStreamForChaining(): void
    {
        $stream = $this->stream();
        self::assertSame($stream, $stream
            ->assertSent('greeting')
            ->assertSent('count', fn (string $data) => json_decode($data, true) === ['n' => 2])
            ->assertSentData('count', ['n' => 1])
            ->assertSentData('message', 'plain')
            ->assertSentCount(4)
            ->assertSentCount(2, 'count')
            ->assertNotSent('farewell')
            ->assertLastEventId('7')
            ->assertRetry(2500)
            ->assertHeader('content-type', 'text/event-stream; charset=utf-8')
            ->assertHeader('X-Accel-Buffering')
            ->assertHeaderMissing('Content-Length')
            ->assertClosed()
            ->assertCommentCount(2)
            ->assertBodyContains('data: plain')
            ->assertBodyNotContains('secret'));
    }

    public function testAssertSentFailsForAnEventNeverSent(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertSent('farewell'));
        self::assertStringContainsString('Expected an event [farewell]', $message);
        self::assertStringContainsString("greeting('hi')", $message);
    }

    public function testAssertSentFailsWhenNoDataMatches(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertSent('count', fn (string $data) => $data === '{"n":3}'));
        self::assertStringContainsString('[count] whose data matches', $message);
        self::assertStringContainsString('\'{"n":1}\', \'{"n":2}\'', $message);
    }

    public function testAssertSentCallbackMustReturnTrueExactly(): void
    {
        $this->failure(fn () => $this->stream()->assertSent('count', fn () => 1));
        $this->addToAssertionCount(1);
    }

    public function testAssertSentDataFailsOnOtherData(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertSentData('count', ['n' => 3]));
        self::assertStringContainsString('\'{"n":3}\'', $message);
        self::assertStringContainsString('\'{"n":1}\'', $message);
    }

    public function testAssertSentCountFailsOnAnotherCount(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertSentCount(3));
        self::assertStringContainsString('Expected 3 events; the stream sent 4', $message);
        $message = $this->failure(fn () => $this->stream()->assertSentCount(1, 'count'));
        self::assertStringContainsString('Expected 1 events [count]; the stream sent 2', $message);
    }

    public function testAssertNotSentFailsForAnEventSent(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertNotSent('count'));
        self::assertStringContainsString('Expected no event [count]; the stream sent 2', $message);
    }

    public function testAssertNothingSent(): void
    {
        (new RecordedStream(": only a comment\n\n"))->assertNothingSent();
        $message = $this->failure(fn () => $this->stream()->assertNothingSent());
        self::assertStringContainsString('Expected no events', $message);
    }

    public function testAssertLastEventIdFailsOnAnotherId(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertLastEventId('8'));
        self::assertStringContainsString("Expected the last event id '8'; it is '7'", $message);
    }

    public function testAssertRetryFailsOnAnotherOrMissingRetry(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertRetry(1000));
        self::assertStringContainsString('Expected retry: 1000; the stream gave retry: 2500', $message);
        $message = $this->failure(fn () => (new RecordedStream("data: x\n\n"))->assertRetry(1000));
        self::assertStringContainsString('the stream gave none', $message);
    }

    public function testAssertHeaderFailsOnMissingHeaderOrOtherValue(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertHeader('Cache-Control'));
        self::assertStringContainsString('Expected a header [Cache-Control]; the headers are: Content-Type: text/event-stream', $message);
        $message = $this->failure(fn () => $this->stream()->assertHeader('Content-Type', 'text/plain'));
        self::assertStringContainsString("Expected header [Content-Type] to be 'text/plain'; it is 'text/event-stream; charset=utf-8'", $message);
        $message = $this->failure(fn () => $this->stream()->assertHeaderMissing('x-accel-buffering'));
        self::assertStringContainsString("Expected no header [x-accel-buffering]; it is 'no'", $message);
    }

    public function testAssertClosedFailsForAnOpenOrUnknownStream(): void
    {
        $this->stream(false)->assertNotClosed();
        self::assertStringContainsString('left open', $this->failure(fn () => $this->stream(false)->assertClosed()));
        self::assertStringContainsString('it was closed', $this->failure(fn () => $this->stream(true)->assertNotClosed()));
        self::assertStringContainsString('Cannot tell', $this->failure(fn () => $this->stream(null)->assertClosed()));
    }

    public function testAssertCommentCountFailsOnAnotherCount(): void
    {
        $message = $this->failure(fn () => $this->stream()->assertCommentCount(3));
        self::assertStringContainsString('Expected 3 comments; the stream wrote 2', $message);
    }

    public function testBodyAssertionsFail(): void
    {
        self::assertStringContainsString("'nope'", $this->failure(fn () => $this->stream()->assertBodyContains('nope')));
        self::assertStringContainsString("not to contain 'greeting'", $this->failure(fn () => $this->stream()->assertBodyNotContains('greeting')));
    }

    public function testAnEventWithoutItsBlankLineIsNotCounted(): void
    {
        // EventSource drops a final event that is not followed by an empty line.
        (new RecordedStream("data: one\n\ndata: cut short\n"))->assertSentCount(1)->assertSentData('message', 'one');
        $this->failure(fn () => (new RecordedStream("data: cut short\n"))->assertSent('message'));
    }

    /**
     * Every failing assertion says what was expected and what was sent, and nothing else: no
     * PHPUnit "Failed asserting that false is true" after it.
     */
    public function testEveryFailureIsOnlyTheExpectationAndWhatWasSent(): void
    {
        $failing = [
            'assertSent' => fn () => $this->stream()->assertSent('farewell'),
            'assertSent with a callback' => fn () => $this->stream()->assertSent('count', fn () => false),
            'assertSentData' => fn () => $this->stream()->assertSentData('count', ['n' => 3]),
            'assertSentCount' => fn () => $this->stream()->assertSentCount(3),
            'assertNotSent' => fn () => $this->stream()->assertNotSent('count'),
            'assertNothingSent' => fn () => $this->stream()->assertNothingSent(),
            'assertLastEventId' => fn () => $this->stream()->assertLastEventId('8'),
            'assertRetry' => fn () => $this->stream()->assertRetry(1000),
            'assertHeader' => fn () => $this->stream()->assertHeader('Cache-Control'),
            'assertHeader with a value' => fn () => $this->stream()->assertHeader('Content-Type', 'text/plain'),
            'assertHeaderMissing' => fn () => $this->stream()->assertHeaderMissing('X-Accel-Buffering'),
            'assertClosed' => fn () => $this->stream(false)->assertClosed(),
            'assertNotClosed' => fn () => $this->stream(true)->assertNotClosed(),
            'assertCommentCount' => fn () => $this->stream()->assertCommentCount(3),
            'assertBodyContains' => fn () => $this->stream()->assertBodyContains('nope'),
            'assertBodyNotContains' => fn () => $this->stream()->assertBodyNotContains('greeting'),
        ];
        foreach ($failing as $name => $assertion) {
            $message = $this->failure($assertion);
            self::assertStringStartsWith('Expected', $message, $name);
            self::assertStringNotContainsString('Failed asserting', $message, "$name: $message");
            self::assertStringEndsWith('.', $message, $name);
        }
        self::assertStringContainsString("'hello', 'keep-alive'", $this->failure(fn () => $this->stream()->assertCommentCount(3)));
    }
}
