<?php

declare(strict_types=1);

namespace Sse\Tests\Symfony;

use App\Kernel;
use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\Symfony\EventStreamResponse;
use Sse\Testing\RecordedStream;
use Symfony\Component\Filesystem\Filesystem;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * The test app (tests/symfony-app) booted in this process, as public/index.php boots it for
 * php-fpm: the bundle's services and its routes' streams, recorded the way a functional test
 * of an app records them (RecordedStream::fromResponse()).
 */
final class SymfonyAppTest extends TestCase
{
    /**
     * One storage (cache, logs) for the whole class: a process can load the app's compiled
     * container class once only, so every kernel here must share its cache dir.
     */
    private static ?string $storage = null;
    private Kernel $kernel;

    protected function setUp(): void
    {
        Symfony::require();
        self::$storage ??= sys_get_temp_dir() . '/sse-symfony-test-' . bin2hex(random_bytes(6));
        $_SERVER['SSE_APP_STORAGE'] = self::$storage;
        $_SERVER['SSE_BROKER'] = 'memory';
        unset($_SERVER['HTTP_LAST_EVENT_ID']);
        $this->kernel = new Kernel('prod', false);
    }

    protected function tearDown(): void
    {
        if (isset($this->kernel)) {
            $this->kernel->shutdown();
        }
        unset($_SERVER['SSE_APP_STORAGE'], $_SERVER['SSE_BROKER']);
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$storage !== null) {
            (new Filesystem())->remove(self::$storage);
            self::$storage = null;
        }
    }

    public function testTheBundleProvidesTheConfiguredBroker(): void
    {
        $this->kernel->boot();
        $broker = $this->kernel->getContainer()->get(Broker::class);

        self::assertInstanceOf(Broker::class, $broker);
        self::assertSame('memory', $broker->url(), 'sse.yaml reads SSE_BROKER');
    }

    public function testAControllerStreamsServerEventsThroughTheEmitter(): void
    {
        $response = $this->get('/events');

        self::assertInstanceOf(EventStreamResponse::class, $response);
        RecordedStream::fromResponse($response)
            ->assertHeader('Content-Type', 'text/event-stream; charset=utf-8')
            ->assertHeader('X-Stream', 'events')
            ->assertHeaderMissing('Connection')
            ->assertRetry(1500)
            ->assertSentCount(3)
            ->assertSentData('greeting', 'hello')
            ->assertSentData('lines', "line 1\nline 2")
            ->assertSentData('0', "zero\ntype")
            ->assertLastEventId('0');
    }

    public function testTheEmitterStyleRunsTimers(): void
    {
        $stream = RecordedStream::fromResponse($this->get('/ticks?count=3&interval=0.01'));

        self::assertSame(['1', '2', '3'], array_column($stream->events(), 'data'));
    }

    public function testAFailureIsLoggedThroughTheAppsLoggerAndNotStreamed(): void
    {
        RecordedStream::fromResponse($this->get('/fails'))
            ->assertSentCount(1)
            ->assertSentData('before', 'ok')
            ->assertBodyNotContains('secret');
        $log = (string) file_get_contents(self::$storage . '/log/app.log');
        self::assertStringContainsString('[error] Event stream failed: secret failure detail', $log);
    }

    public function testABadOptionIsTheAppsErrorPage(): void
    {
        $response = $this->get('/bad-option');

        self::assertSame(500, $response->getStatusCode());
        self::assertNotInstanceOf(EventStreamResponse::class, $response);
        self::assertStringContainsString('Invalid option "retyr"', (string) file_get_contents(self::$storage . '/log/app.log'));
    }

    public function testTheReconnectAfterFinishIs204(): void
    {
        RecordedStream::fromResponse($this->get('/finish'))->assertLastEventId('sse-end');

        $again = $this->get('/finish', ['HTTP_LAST_EVENT_ID' => 'sse-end']);
        self::assertSame(204, $again->getStatusCode());
        self::assertSame('', RecordedStream::fromResponse($again)->body());
    }

    public function testPublishingThroughTheBundlesBrokerAnswersTheIds(): void
    {
        $response = $this->get('/broadcast/publish?topics=news&n=2&prefix=p');

        self::assertSame(200, $response->getStatusCode());
        $ids = json_decode((string) $response->getContent(), true, flags: JSON_THROW_ON_ERROR)['ids'];
        self::assertCount(2, $ids);
        self::assertNotSame($ids[0], $ids[1]);
    }

    /** @param array<string, string> $server */
    private function get(string $uri, array $server = []): Response
    {
        foreach ($server as $name => $value) {
            $_SERVER[$name] = $value;
        }
        try {
            return $this->kernel->handle(Request::create($uri, 'GET', [], [], [], $server));
        } finally {
            foreach (array_keys($server) as $name) {
                unset($_SERVER[$name]);
            }
        }
    }
}
