<?php

declare(strict_types=1);

namespace Sse\Tests\Examples;

use Examples\Dashboard\Dashboard;
use PHPUnit\Framework\TestCase;
use Sse\Laravel\SseResponse;
use Sse\SseEmitter;
use Sse\Testing\EventStreamRecorder;
use Sse\Tests\Laravel\TestApp;

require_once __DIR__ . '/../../../examples/dashboard/Dashboard.php';

/** The live dashboard example: its stream, and its Laravel routes. */
final class DashboardTest extends TestCase
{
    public function testTheStreamSendsTheStateThenATickerAndAClockEverySecond(): void
    {
        $stream = EventStreamRecorder::record(
            fn (SseEmitter $sse) => Dashboard::serve($sse),
            ['maxDuration' => 10] + Dashboard::OPTIONS,
        );
        // 4 quotes and the clock at once, then one quote and one clock a second for 10 s.
        $stream->assertSentCount(4 + 10, 'stock')
            ->assertSentCount(1 + 10, 'clock')
            ->assertLastEventId('25')
            ->assertRetry(1000)
            ->assertClosed()
            ->assertSent('stock', function (string $data): bool {
                $quote = json_decode($data, true);
                return isset($quote['symbol'], $quote['price'], $quote['change']);
            });
    }

    public function testAReconnectingClientResumesAfterItsLastEventId(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = '41';
        try {
            $stream = EventStreamRecorder::record(fn (SseEmitter $sse) => Dashboard::serve($sse), ['maxDuration' => 1] + Dashboard::OPTIONS);
        } finally {
            unset($_SERVER['HTTP_LAST_EVENT_ID']);
        }
        self::assertSame('42', $stream->events()[0]['id']);
    }

    public function testTheLaravelRoutesServeThePageAndTheStream(): void
    {
        if (!class_exists(\Illuminate\Foundation\Application::class)) {
            self::markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
        $laravel = new TestApp();
        try {
            $page = $laravel->get('/dashboard/');
            self::assertSame(200, $page->getStatusCode());
            self::assertStringContainsString("new EventSource('stream.php')", (string) $page->getContent());

            $stream = $laravel->get('/dashboard/stream.php');
            self::assertInstanceOf(SseResponse::class, $stream);
            self::assertSame('text/event-stream; charset=utf-8', $stream->headers->get('Content-Type'));
        } finally {
            $laravel->destroy();
        }
    }
}
