<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use PHPUnit\Framework\TestCase;
use Sse\Laravel\SseResponse;
use Sse\Testing\RecordedStream;

/**
 * The routes of tests/laravel-app, through Laravel's HTTP kernel (routing, middleware,
 * exception handler), in this process; the body is recorded from the returned SseResponse.
 */
final class LaravelAppTest extends TestCase
{
    private TestApp $laravel;

    protected function setUp(): void
    {
        if (!class_exists(\Illuminate\Foundation\Application::class)) {
            self::markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
        $this->laravel = new TestApp();
    }

    protected function tearDown(): void
    {
        $this->laravel->destroy();
    }

    public function testMiddlewareSeesTheSseHeadersAndItsCookieIsKept(): void
    {
        $response = $this->laravel->get('/events');
        self::assertInstanceOf(SseResponse::class, $response);
        self::assertSame(200, $response->getStatusCode());
        // Set by the middleware from what it saw on the response the controller returned.
        self::assertSame('text/event-stream; charset=utf-8', $response->headers->get('X-Seen-Content-Type'));
        $cookies = array_map(static fn ($c) => $c->getName() . '=' . $c->getValue(), $response->headers->getCookies());
        self::assertSame(['sse_seen=yes'], $cookies);

        RecordedStream::fromResponse($response)
            ->assertHeader('X-Accel-Buffering', 'no')
            ->assertHeader('X-Stream', 'events')
            ->assertHeader('Set-Cookie')
            ->assertRetry(1500)
            ->assertSentCount(3)
            ->assertSentData('greeting', 'hello')
            ->assertSentData('count', ['n' => 2])
            ->assertSentData('message', 'plain data')
            ->assertLastEventId('2')
            ->assertClosed();
    }

    public function testAGeneratorControllerStreamsEachYield(): void
    {
        RecordedStream::fromResponse($this->laravel->get('/generator'))
            ->assertSentCount(3, 'word')
            ->assertSentData('word', 'one')
            ->assertSentData('word', 'three')
            ->assertLastEventId('3')
            ->assertClosed();
    }

    public function testTimersAreServedUntilTheStreamCloses(): void
    {
        RecordedStream::fromResponse($this->laravel->get('/ticks?count=4&interval=0.01'))
            ->assertSentCount(4, 'tick')
            ->assertSentData('tick', '4')
            ->assertCommentCount(0)
            ->assertClosed();
    }

    public function testAFailingStreamIsReportedToTheLogAndNotStreamed(): void
    {
        RecordedStream::fromResponse($this->laravel->get('/fails'))
            ->assertSentData('before', 'ok')
            ->assertSentCount(1)
            ->assertBodyNotContains('secret')
            ->assertBodyNotContains('RuntimeException')
            ->assertClosed();
        $log = $this->laravel->log();
        self::assertStringContainsString('testing.ERROR: secret failure detail', $log);
        self::assertStringContainsString('RuntimeException', $log);
    }

    public function testOtherRoutesAreUntouched(): void
    {
        $ping = $this->laravel->get('/ping');
        self::assertSame('pong', $ping->getContent());
        $missing = $this->laravel->get('/nowhere');
        self::assertSame(404, $missing->getStatusCode());
        self::assertSame('Not Found', $missing->getContent());
    }
}
