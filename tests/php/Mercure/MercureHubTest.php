<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\Tests\Support\HttpStream;
use Sse\Tests\Support\HubServer;
use Sse\Tests\Support\Jwt;

/**
 * Sse\MercureHub as a plain PHP hub served by `php -S`: subscribe, publish, authorization and
 * resume over real HTTP, with tokens signed here. (The same hub behind nginx + php-fpm, on two
 * machines sharing Redis: tests/stacks/test_mercure.py.)
 */
final class MercureHubTest extends TestCase
{
    private const KEY = '!ChangeThisMercureHubJWTSecretKey!';
    private const APP = 'http://app.example.test';

    private static ?HubServer $open = null;
    private static ?HubServer $closed = null;

    public static function setUpBeforeClass(): void
    {
        self::$open = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1', 'MERCURE_CORS' => self::APP, 'MERCURE_PUBLISH_ORIGINS' => self::APP]);
        self::$closed = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_HEARTBEAT' => '1']);
    }

    public static function tearDownAfterClass(): void
    {
        self::$open?->stop();
        self::$closed?->stop();
    }

    private static function publisher(array $selectors = ['*'], array $extra = []): array
    {
        return ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['publish' => $selectors]] + $extra, self::KEY)];
    }

    private static function broker(HubServer $hub): Broker
    {
        return new Broker('local://' . $hub->directory . '/broker');
    }

    private static function publishOk(HubServer $hub, array $fields): string
    {
        $answer = $hub->publish($fields, self::publisher());
        self::assertSame(200, $answer->status(), $answer->body());
        self::assertStringStartsWith('text/plain', $answer->headers()['content-type']);
        return $answer->body();
    }

    public function testASubscriberGetsTheUpdatesItsSelectorsMatchWithTheHubsIds(): void
    {
        $hub = self::$open;
        $stream = $hub->subscribe(['https://example.com/books/{id}', 'news']);
        self::assertSame(200, $stream->status());
        self::assertStringStartsWith('text/event-stream', $stream->headers()['content-type']);
        self::assertArrayHasKey('last-event-id', $stream->headers());
        $first = self::publishOk($hub, ['topic' => 'https://example.com/books/1', 'data' => '{"title":"one"}', 'type' => 'book']);
        self::publishOk($hub, ['topic' => 'https://example.com/books/1/secret', 'data' => 'not matched: another segment']);
        self::publishOk($hub, ['topic' => 'https://example.com/users/1', 'data' => 'not matched']);
        $second = self::publishOk($hub, ['topic' => ['https://example.com/other', 'news'], 'data' => "two\nlines", 'retry' => '2500']);
        $events = $stream->events(2);
        $stream->close();
        self::assertSame([
            ['event' => 'book', 'id' => $first, 'data' => '{"title":"one"}'],
            ['id' => $second, 'retry' => '2500', 'data' => "two\nlines"],
        ], $events);
        self::assertMatchesRegularExpression('/^[0-9a-f]{12}:\d+$/', $first);
    }

    public function testPrivateUpdatesReachOnlySubscribersWhoseTokenMatchesATopic(): void
    {
        $hub = self::$open;
        $anonymous = $hub->subscribe(['*']);
        $token = Jwt::hs256(['mercure' => ['subscribe' => ['https://example.com/users/7/{+rest}']]], self::KEY);
        $user7 = $hub->subscribe(['https://example.com/users/{id}/orders', 'public'], ['Authorization' => "Bearer $token"]);
        $other = $hub->subscribe(['*'], ['Cookie' => 'mercureAuthorization=' . Jwt::hs256(['mercure' => ['subscribe' => ['https://example.com/users/8/{+rest}']]], self::KEY)]);
        self::assertSame([200, 200, 200], [$anonymous->status(), $user7->status(), $other->status()]);
        $private = self::publishOk($hub, ['topic' => 'https://example.com/users/7/orders', 'data' => 'for 7 only', 'private' => 'on']);
        $public = self::publishOk($hub, ['topic' => 'public', 'data' => 'for everyone']);
        self::assertSame([$private, $public], array_column($user7->events(2), 'id'));
        self::assertSame([$public], array_column($anonymous->events(1), 'id'));
        self::assertSame([$public], array_column($other->events(1), 'id'));
        foreach ([$anonymous, $user7, $other] as $stream) {
            $stream->close();
        }
    }

    public function testRefusedPublishesAreClear4xxAndPublishNothing(): void
    {
        $hub = self::$open;
        $broker = self::broker($hub);
        $before = $broker->lastEventId();
        $now = time();
        $refusals = [
            [401, 'a publisher token is required', [], ['topic' => 'a', 'data' => 'x']],
            [401, 'signature is not valid', ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['publish' => ['*']]], 'forged')], ['topic' => 'a']],
            [401, 'expired', self::publisher(['*'], ['exp' => $now - 10]), ['topic' => 'a']],
            [401, 'malformed', ['Authorization' => 'Bearer ' . Jwt::none(['mercure' => ['publish' => ['*']]])], ['topic' => 'a']],
            [401, 'another algorithm', ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['publish' => ['*']]], self::KEY, 'HS512')], ['topic' => 'a']],
            [401, 'not "Bearer <token>"', ['Authorization' => 'Basic dTpw'], ['topic' => 'a']],
            [403, '"https://example.com/users/1" is not covered', self::publisher(['https://example.com/books/{id}']), ['topic' => ['https://example.com/books/1', 'https://example.com/users/1']]],
            [403, 'allows no topic', self::publisher([]), ['topic' => 'a']],
            [400, 'more than 32 topics', self::publisher(), ['topic' => array_map(fn (int $i): string => "t$i", range(1, 1000))]],
            [400, '"retry" must be a number', self::publisher(), ['topic' => 'a', 'retry' => 'soon']],
            [400, 'Invalid argument $type', self::publisher(), ['topic' => 'a', 'type' => "x\nevent: evil"]],
            [400, 'Invalid argument $type', self::publisher(), ['topic' => 'a', 'type' => 'mercure']],
            [400, 'Invalid argument $id', self::publisher(), ['topic' => 'a', 'id' => 'earliest']],
            [400, 'Invalid argument $id', self::publisher(), ['topic' => 'a', 'id' => '#1']],
            [400, 'selects every topic', self::publisher(['*']), ['topic' => '*']],
            [400, 'reserved namespace', self::publisher(['*']), ['topic' => '/a/../.well-known/mercure']],
            [400, 'reserved namespace', self::publisher(['*']), ['topic' => 'https://any.host/.well-known/%6Dercure/x']],
            [400, 'missing "topic"', self::publisher(), ['data' => 'x']],
            [413, 'the limit is 1048576', self::publisher(), ['topic' => 'a', 'data' => str_repeat('x', 1 << 20)]],
        ];
        foreach ($refusals as [$status, $reason, $headers, $fields]) {
            $answer = $hub->publish($fields, $headers);
            self::assertSame($status, $answer->status(), "$reason: {$answer->body()}");
            self::assertStringContainsString($reason, $answer->body());
            self::assertStringStartsWith('text/plain', $answer->headers()['content-type'] ?? '');
        }
        $json = $hub->request('POST', '/', self::publisher() + ['Content-Type' => 'application/json'], '{"topic":"a"}');
        self::assertSame(415, $json->status());
        self::assertSame(405, $hub->request('PUT', '/', self::publisher())->status());
        self::assertSame(405, $hub->request('HEAD', '/?topic=a')->status());
        self::assertSame($before, $broker->lastEventId(), 'nothing was published');
    }

    public function testRefusedSubscriptionsAreClear4xx(): void
    {
        $cases = [
            [self::$open, 400, 'the URI template "https://example.com/{id" is malformed', ['https://example.com/{id'], []],
            [self::$open, 400, 'more than 100 topic selectors', array_map(fn (int $i): string => "t$i", range(1, 1000)), []],
            [self::$open, 401, 'signature is not valid', ['a'], ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => ['*']]], 'forged')]],
            [self::$open, 401, 'malformed', ['a'], ['Authorization' => 'Bearer ' . Jwt::none(['mercure' => ['subscribe' => ['*']]])]],
            [self::$closed, 401, 'a subscriber token is required', ['a'], []],
            [self::$closed, 401, 'expired', ['a'], ['Authorization' => 'Bearer ' . Jwt::hs256(['exp' => time() - 5], self::KEY)]],
        ];
        foreach ($cases as [$hub, $status, $reason, $topics, $headers]) {
            $stream = $hub->subscribe($topics, $headers);
            $stream->close();
            self::assertSame($status, $stream->status(), $reason);
            self::assertStringContainsString($reason, $stream->body());
        }
        $none = self::$open->request('GET', '/');
        self::assertSame(400, $none->status());
        self::assertStringContainsString('missing "topic" parameter', $none->body());
    }

    public function testResumeByHeaderOrQueryParameterAndFromEarliest(): void
    {
        $hub = self::$closed;
        $token = ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => []]], self::KEY)];
        $ids = [];
        foreach (['one', 'two', 'three'] as $data) {
            $ids[] = self::publishOk($hub, ['topic' => 'resume', 'data' => $data]);
        }
        // php -S has four workers, each holding one stream: one stream at a time here.
        $read = static function (HttpStream $stream, int $count, float $seconds = 5.0): array {
            $events = $stream->events($count, $seconds);
            $stream->close();
            return array_column($events, 'data');
        };
        $afterFirst = $hub->subscribe(['resume'], $token + ['Last-Event-ID' => $ids[0]]);
        self::assertSame($ids[2], $afterFirst->headers()['last-event-id'], 'the newest id when the subscription began');
        self::assertSame(['two', 'three'], $read($afterFirst, 2));
        self::assertSame(['three'], $read($hub->subscribe(['resume'], $token, '&lastEventID=' . rawurlencode($ids[1])), 1));
        $headerWins = $hub->subscribe(['resume'], $token + ['Last-Event-ID' => $ids[1]], '&lastEventID=' . rawurlencode($ids[0]));
        self::assertSame(['three'], $read($headerWins, 2, 0.5));
        self::assertSame(['one', 'two', 'three'], $read($hub->subscribe(['resume'], $token, '&lastEventID=earliest'), 3));
        // An id the hub never gave: live from now, as the draft has it (no sse-reset by default).
        $unknown = $hub->subscribe(['resume'], $token + ['Last-Event-ID' => 'made-up']);
        self::publishOk($hub, ['topic' => 'resume', 'data' => 'four']);
        self::assertSame(['four'], $read($unknown, 2, 0.5));
    }

    public function testWithResetEventsAnIdItCannotResumeFromStartsWithSseReset(): void
    {
        $hub = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1', 'MERCURE_RESET_EVENTS' => '1']);
        try {
            $stream = $hub->subscribe(['reset'], ['Last-Event-ID' => '0123456789ab:7']);
            $live = self::publishOk($hub, ['topic' => 'reset', 'data' => 'live']);
            $events = $stream->events(2);
            $stream->close();
            self::assertSame('sse-reset', $events[0]['event'] ?? null);
            self::assertSame('{"reason":"unknown-id"}', $events[0]['data']);
            self::assertSame($live, $events[1]['id'] ?? null);
        } finally {
            $hub->stop();
        }
    }

    public function testTheTokensExpiryEndsTheStream(): void
    {
        $token = Jwt::hs256(['mercure' => ['subscribe' => ['*']], 'exp' => time() + 2], self::KEY);
        $stream = self::$closed->subscribe(['*'], ['Authorization' => "Bearer $token"]);
        self::assertSame(200, $stream->status());
        self::assertFalse($stream->ends(0.5), 'open before exp');
        self::assertTrue($stream->ends(4.0), 'closed at exp');
        $stream->close();
    }

    public function testCorsPreflightsAnswerAllowedOriginsOnly(): void
    {
        $allowed = self::$open->request('OPTIONS', '/', ['Origin' => self::APP, 'Access-Control-Request-Method' => 'POST']);
        self::assertSame(204, $allowed->status());
        self::assertSame(self::APP, $allowed->headers()['access-control-allow-origin']);
        self::assertSame('true', $allowed->headers()['access-control-allow-credentials']);
        self::assertStringContainsString('Authorization', $allowed->headers()['access-control-allow-headers']);
        $other = self::$open->request('OPTIONS', '/', ['Origin' => 'http://evil.example.test']);
        self::assertSame(204, $other->status());
        self::assertArrayNotHasKey('access-control-allow-origin', $other->headers());
        $stream = self::$open->subscribe(['x'], ['Origin' => self::APP]);
        self::assertSame(self::APP, $stream->headers()['access-control-allow-origin']);
        $stream->close();
    }

    public function testACookiePublishNeedsAnAllowedOriginAndTheHeaderWinsOverTheCookie(): void
    {
        $hub = self::$open;
        $cookie = ['Cookie' => 'mercureAuthorization=' . Jwt::hs256(['mercure' => ['publish' => ['*']]], self::KEY)];
        self::assertSame(403, $hub->publish(['topic' => 'c', 'data' => 'x'], $cookie)->status());
        self::assertSame(403, $hub->publish(['topic' => 'c', 'data' => 'x'], $cookie + ['Origin' => 'http://evil.example.test'])->status());
        $allowed = $hub->publish(['topic' => 'c', 'data' => 'x'], $cookie + ['Origin' => self::APP]);
        self::assertSame(200, $allowed->status(), $allowed->body());
        self::assertSame(self::APP, $allowed->headers()['access-control-allow-origin']);
        $forgedHeader = $hub->publish(['topic' => 'c', 'data' => 'x'], $cookie + ['Origin' => self::APP, 'Authorization' => 'Bearer x.y.z']);
        self::assertSame(401, $forgedHeader->status(), 'the cookie is ignored when a header is present');
    }

    public function testMercurePublishReachesTheHubsSubscribers(): void
    {
        $hub = self::$open;
        $stream = $hub->subscribe(['https://example.com/direct/{id}']);
        $previous = ini_get('sse.broker');
        ini_set('sse.broker', 'local://' . $hub->directory . '/broker');
        try {
            $id = mercure_publish('https://example.com/direct/1', 'no HTTP', false, null, 'direct');
        } finally {
            ini_set('sse.broker', (string) $previous);
        }
        self::assertSame([['event' => 'direct', 'id' => $id, 'data' => 'no HTTP']], $stream->events(1));
        $stream->close();
    }
}
