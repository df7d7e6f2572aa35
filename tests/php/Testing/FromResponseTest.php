<?php

declare(strict_types=1);

namespace Sse\Tests\Testing;

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\TestCase;
use Sse\ServerSentEvents;
use Sse\Testing\EventStreamRecorder;
use Sse\Testing\RecordedStream;
use Symfony\Component\HttpFoundation\StreamedResponse;

/** Recording a plain Symfony StreamedResponse: body from sendContent(), headers from the object. */
final class FromResponseTest extends TestCase
{
    protected function setUp(): void
    {
        if (!class_exists(StreamedResponse::class)) {
            self::markTestSkipped('Symfony HttpFoundation (php-laravel-framework) is not installed');
        }
    }

    private function response(): StreamedResponse
    {
        return new StreamedResponse(static function (): void {
            echo new ServerSentEvents(['retry' => 3000]);
            echo new ServerSentEvents(['event' => 'a', 'data' => 'first', 'id' => 'x1']);
            echo new ServerSentEvents(['event' => 'b', 'data' => ['k' => 'v']]);
        }, 200, ['Content-Type' => 'text/event-stream', 'X-Custom' => 'yes']);
    }

    public function testRecordsBodyAndHeaders(): void
    {
        $stream = RecordedStream::fromResponse($this->response());
        $stream->assertSentCount(2)
            ->assertSentData('a', 'first')
            ->assertSentData('b', ['k' => 'v'])
            ->assertLastEventId('x1')
            ->assertRetry(3000)
            ->assertHeader('Content-Type', 'text/event-stream')
            ->assertHeader('x-custom', 'yes');
        // A plain StreamedResponse has no emitter: whether it closed is unknown, and says so.
        self::assertNull($stream->isClosed());
    }

    public function testRecorderDelegates(): void
    {
        EventStreamRecorder::fromResponse($this->response())->assertSent('b');
    }

    public function testFailuresShowWhatTheResponseSent(): void
    {
        try {
            RecordedStream::fromResponse($this->response())->assertSent('c');
        } catch (AssertionFailedError $e) {
            self::assertStringContainsString("a('first')", $e->getMessage());
            return;
        }
        self::fail('assertSent(c) passed on a response that never sent c');
    }

    public function testOutputBuffersAreRestoredWhenTheCallbackThrowsOrLeavesBuffersOpen(): void
    {
        $level = ob_get_level();
        $leaky = new StreamedResponse(static function (): void {
            ob_start();
            echo "data: inner\n\n";
        });
        RecordedStream::fromResponse($leaky)->assertSentData('message', 'inner');
        self::assertSame($level, ob_get_level());

        $failing = new StreamedResponse(static function (): void {
            echo "data: lost\n\n";
            throw new \DomainException('inside the stream');
        });
        try {
            RecordedStream::fromResponse($failing);
            self::fail('the exception did not propagate');
        } catch (\DomainException) {
            self::assertSame($level, ob_get_level());
        }
    }
}
