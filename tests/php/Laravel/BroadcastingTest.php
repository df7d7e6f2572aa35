<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use App\Events\NewsPublished;
use App\Events\OrderShipped;
use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Broadcast;
use PHPUnit\Framework\TestCase;
use Sse\Laravel\Broadcasting;
use Sse\Laravel\SseBroadcaster;
use Sse\Laravel\SseResponse;
use Sse\SseEmitter;
use Sse\Testing\RecordedStream;
use Sse\Tests\Support\LastEventIdIsolation;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;

/**
 * The `sse` broadcasting driver and the stream route, through the test app's HTTP kernel, in
 * this process: broadcasting goes to a `memory` broker; the streams run on the virtual clock
 * and resume from the broker id taken before the broadcasts, so they write exactly those.
 */
final class BroadcastingTest extends TestCase
{
    use LastEventIdIsolation;

    private TestApp $laravel;

    protected function setUp(): void
    {
        if (!class_exists(\Illuminate\Foundation\Application::class)) {
            self::markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
        $this->laravel = new TestApp();
        $this->laravel->kernel->bootstrap();
        $this->laravel->app['config']->set('broadcasting.connections.sse', [
            'driver' => 'sse',
            'url' => 'memory',
            'stream' => ['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5],
        ]);
        // Booting made the driver already (routes/channels.php registers its callbacks on it):
        // make it again from the config above, with the app's callbacks.
        $this->laravel->app->make(BroadcastManager::class)->purge('sse');
        require TestApp::SHARED . '/routes/channels.php';
        $this->laravel->app->instance('request', Request::create('/'));
    }

    protected function tearDown(): void
    {
        $this->laravel->destroy();
    }

    private function broadcaster(): SseBroadcaster
    {
        return Broadcasting::broadcaster();
    }

    /** Requests the stream route as a reconnecting EventSource would, and records what it wrote. */
    private function stream(string $query, ?int $user, ?string $lastEventId): RecordedStream
    {
        $response = $this->request($query, $user);
        self::assertInstanceOf(SseResponse::class, $response, (string) $response->getContent());
        if ($lastEventId !== null) {
            $_SERVER['HTTP_LAST_EVENT_ID'] = $lastEventId; // what the emitter reads
        }
        return RecordedStream::fromResponse($response);
    }

    private function request(string $query, ?int $user): \Symfony\Component\HttpFoundation\Response
    {
        $server = $user === null ? [] : ['HTTP_X_TEST_USER' => (string) $user];
        // One app serves every request here: forget the user the guard found for the last one.
        $this->laravel->app->make('auth')->forgetGuards();
        return $this->laravel->get('/sse/stream' . $query, $server);
    }

    public function testTheDriverIsRegisteredAndBuiltFromTheConnectionConfig(): void
    {
        $broadcaster = $this->broadcaster();
        self::assertSame('memory', $broadcaster->broker()->url());
        self::assertSame(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5], $broadcaster->streamOptions());
        self::assertSame($broadcaster, $this->laravel->app->make(BroadcastManager::class)->connection('sse'));
    }

    public function testBroadcastPublishesToEveryChannelByFullNameWithLaravelsEventNameAndPayload(): void
    {
        $from = $this->broadcaster()->broker()->lastEventId();
        broadcast(new NewsPublished('first', 1));                 // ShouldBroadcastNow, public properties
        broadcast(new OrderShipped(7, 2, 'kept out'));            // ShouldBroadcast on the sync queue, broadcastAs/With
        broadcast(new OrderShipped(8, 3));

        $recorded = $this->stream('?channels[]=news&channels[]=private-orders.7&channels[]=shipments', 7, $from);
        self::assertSame([
            ['App\Events\NewsPublished', '{"headline":"first","n":1}'],
            ['order.shipped', '{"order":7,"n":2}'],
            ['order.shipped', '{"order":8,"n":3}'],   // on `shipments` too
        ], array_map(static fn (array $e) => [$e['event'], $e['data']], $recorded->events()));
        $recorded->assertBodyNotContains('kept out')->assertBodyNotContains('socket')->assertClosed();
        self::assertSame($this->broadcaster()->broker()->lastEventId(), $recorded->lastEventId());
    }

    public function testAStreamGetsOnlyItsChannels(): void
    {
        $from = $this->broadcaster()->broker()->lastEventId();
        broadcast(new OrderShipped(1, 1));
        broadcast(new NewsPublished('for news', 2));
        broadcast(new OrderShipped(2, 3));
        Broadcast::connection()->broadcast(['private-orders.1'], 'note', []);

        $recorded = $this->stream('?channels[]=private-orders.1', 1, $from);
        self::assertSame(
            [['order.shipped', '{"order":1,"n":1}'], ['note', '{}']],
            array_map(static fn (array $e) => [$e['event'], $e['data']], $recorded->events()),
        );
    }

    public function testPrivateAndPresenceChannelsAreAuthorizedByTheAppsChannelCallbacks(): void
    {
        $cases = [
            // [query, user, expected status]
            ['?channels[]=news', null, 200],
            ['?channels[]=private-orders.1', null, 403],
            ['?channels[]=private-orders.1', 2, 403],
            ['?channels[]=private-orders.1', 1, 200],
            ['?channels[]=news&channels[]=private-orders.2', 1, 403],
            ['?channels[]=presence-room.5', 3, 200],
            ['?channels[]=presence-room.5', 4, 403],
            ['?channels[]=presence-room.5', null, 403],
            ['?channels[]=private-unknown.1', 1, 403],   // no callback: refused
        ];
        foreach ($cases as [$query, $user, $status]) {
            $response = $this->request($query, $user);
            self::assertSame($status, $response->getStatusCode(), "$query as " . var_export($user, true) . ': ' . $response->getContent());
            if ($status === 403) {
                self::assertNotInstanceOf(SseResponse::class, $response);
                self::assertMatchesRegularExpression('/^Not allowed to listen on channel \[(private|presence)-[a-z.0-9]+\]\.$/', trim((string) $response->getContent()));
            }
        }
    }

    public function testBadChannelListsAreRefusedWithAReason(): void
    {
        $cases = [
            '' => 'No channel asked for',
            '?channels=' => 'a channel name is empty',
            '?channels[]=' . str_repeat('a', 201) => 'is 201 bytes long; the limit is 200',
            '?channels[]=a%0Ab' => 'control character U+000A at byte 1',
            '?channels[]=%FF' => 'not valid UTF-8',
            '?channels[a][]=x' => 'not a nested array',
            '?' . implode('&', array_map(static fn (int $i) => "channels[]=c$i", range(1, 101))) => '101 channels asked for; at most 100',
        ];
        foreach ($cases as $query => $reason) {
            $response = $this->request($query, 1);
            self::assertSame(400, $response->getStatusCode(), $query);
            self::assertStringContainsString($reason, (string) $response->getContent(), $query);
        }
        // A single string and repeated names are fine.
        self::assertSame(200, $this->request('?channels=news', null)->getStatusCode());
        self::assertSame(200, $this->request('?channels[]=news&channels[]=news', null)->getStatusCode());
    }

    public function testAnUnknownIdGetsAResetThenWhatIsBroadcast(): void
    {
        $response = $this->request('?channels[]=news', null);
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'from-another-broker';
        // The stream's virtual clock runs maxDuration (5 s) after the reset; nothing is published
        // meanwhile, so it writes the reset alone.
        RecordedStream::fromResponse($response)
            ->assertSentCount(1)
            ->assertSentData('sse-reset', ['reason' => 'unknown-id'])
            ->assertClosed();
    }

    public function testTheSseMacroCanSubscribe(): void
    {
        $broker = $this->broadcaster()->broker();
        $response = response()->sse(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('news', $broker);
            $sse->after(1, static fn () => broadcast(new NewsPublished('live', 1)));
            $sse->after(2, static fn () => broadcast(new NewsPublished('live', 2)));
        }, ['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 3]);
        $recorded = RecordedStream::fromResponse($response)->assertClosed();
        self::assertSame(['{"headline":"live","n":1}', '{"headline":"live","n":2}'], array_column($recorded->events(), 'data'));
    }

    public function testBroadcastingAuthEndpointAnswersLikeLaravelsOtherDrivers(): void
    {
        $auth = function (string $channel, ?int $user) {
            $request = Request::create('/broadcasting/auth', 'POST', ['channel_name' => $channel]);
            $request->setUserResolver(fn () => $user === null ? null : new \Illuminate\Auth\GenericUser(['id' => $user, 'name' => "user $user"]));
            return $this->broadcaster()->auth($request);
        };
        self::assertSame('true', $auth('private-orders.4', 4));
        self::assertSame('{"channel_data":{"user_id":2,"user_info":{"id":2,"name":"user 2"}}}', $auth('presence-room.9', 2));
        foreach ([['private-orders.4', 5], ['private-orders.4', null], ['presence-room.9', 4]] as [$channel, $user]) {
            try {
                $auth($channel, $user);
                self::fail("$channel was authorized for " . var_export($user, true));
            } catch (AccessDeniedHttpException) {
                $this->addToAssertionCount(1);
            }
        }
    }

    public function testAnUnreachableBrokerFailsTheBroadcastWithItsUrl(): void
    {
        $this->laravel->app['config']->set('broadcasting.connections.down', [
            'driver' => 'sse',
            'url' => 'redis://127.0.0.1:1/0',
            'options' => ['publishTimeout' => 0.5],
        ]);
        try {
            Broadcast::connection('down')->broadcast(['news'], 'x', ['a' => 1]);
            self::fail('the broadcast did not fail');
        } catch (BroadcastException $e) {
            self::assertStringContainsString('Could not broadcast [x] to [news] through the sse broker redis://127.0.0.1:1/0', $e->getMessage());
        }
    }

    public function testRoutesRegistersTheNamedStreamRouteWithTheWebGroupByDefault(): void
    {
        $routes = $this->laravel->app->make('router')->getRoutes();
        $appRoute = $routes->getByName('sse.stream');
        self::assertSame('sse/stream', $appRoute->uri());
        self::assertSame(['GET', 'HEAD'], $appRoute->methods());
        self::assertSame([], $appRoute->gatherMiddleware());     // the test app passes []

        Broadcasting::routes(null, '/live/events', 'sse');
        // By uri: which of two routes of one name the name finds differs between Laravel 8 and 13.
        $route = $routes->match(Request::create('/live/events'));
        self::assertSame('sse.stream', $route->getName());
        self::assertSame(['web'], $route->gatherMiddleware());
        self::assertSame('sse', $route->getAction('sseConnection'));
    }

    public function testTheStreamRouteNeedsAnSseConnection(): void
    {
        $this->laravel->app['config']->set('broadcasting.default', 'null');
        $this->laravel->app['config']->set('broadcasting.connections.null', ['driver' => 'null']);
        $this->expectException(\LogicException::class);
        $this->expectExceptionMessage("Broadcasting connection [null] is a Illuminate\\Broadcasting\\Broadcasters\\NullBroadcaster, not the 'sse' driver");
        Broadcasting::broadcaster();
    }
}
