<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\HttpStream;
use Sse\Tests\Support\HubServer;
use Sse\Tests\Support\Jwt;

/**
 * Mercure 1.0 subscriptions (`match`, `match_exact`, `match_urlpattern`, `last_event_id`,
 * `Mercure-Last-Event-ID`) on the same hub as draft-07's, served by `php -S`: the checklist of
 * ../shared/MERCURE-1.0.md, items 1-13, as far as `php -S` goes. `php -S` answers the QUERY
 * method 501 itself before any script runs, so QUERY is tested behind nginx + php-fpm
 * (tests/stacks/test_mercure_1_0_subscribe.py).
 */
final class Mercure10SubscribeTest extends TestCase
{
    private const KEY = '!ChangeThisMercureHubJWTSecretKey!';
    private const APP = 'http://app.example.test';

    private static ?HubServer $open = null;
    private static ?HubServer $closed = null;

    public static function setUpBeforeClass(): void
    {
        self::$open = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1', 'MERCURE_CORS' => self::APP]);
        self::$closed = new HubServer(['MERCURE_KEY' => self::KEY]);
    }

    public static function tearDownAfterClass(): void
    {
        self::$open?->stop();
        self::$closed?->stop();
    }

    /** A 1.0 query: each pair is [name, value]. */
    private static function query(array $pairs): string
    {
        return implode('&', array_map(fn (array $p): string => rawurlencode($p[0]) . '=' . rawurlencode($p[1]), $pairs));
    }

    /** Opens a 1.0 subscription (the hub server's helper with no `topic=`). */
    private static function subscribe(HubServer $hub, array $pairs, array $headers = []): HttpStream
    {
        return $hub->subscribe([], $headers, '&' . self::query($pairs));
    }

    private static function publishOk(HubServer $hub, array $fields): string
    {
        $token = 'Bearer ' . Jwt::hs256(['mercure' => ['publish' => ['*']]], self::KEY);
        $answer = $hub->publish($fields, ['Authorization' => $token]);
        self::assertSame(200, $answer->status(), $answer->body());
        return $answer->body();
    }

    /** The data of the events that arrive within `$seconds` (at most `$count`), stream closed. */
    private static function read(HttpStream $stream, int $count, float $seconds = 5.0): array
    {
        $events = $stream->events($count, $seconds);
        $stream->close();
        return array_column($events, 'data');
    }

    public function testMatchersReceiveExactlyTheUpdatesTheyMatch(): void
    {
        $hub = self::$open;
        $stream = self::subscribe($hub, [['match_exact', 'foo'], ['match_urlpattern', 'https://e.com/b/:id'], ['match', 'https://e.com/b/{id}']]);
        self::assertSame(200, $stream->status(), $stream->body());
        self::assertStringStartsWith('text/event-stream', $stream->headers()['content-type']);
        // Checklist 13: no cursor, no resume header of either draft.
        self::assertArrayNotHasKey('mercure-last-event-id', $stream->headers());
        self::assertArrayNotHasKey('last-event-id', $stream->headers());
        foreach ([
            ['https://e.com/b/1', 'pattern'],
            ['https://e.com/b/1/x', 'no: another segment'],
            ['foo', 'exact'],
            ['foo/1', 'no: exact is exact'],
            ['https://E.COM/b/2?q=1#f', 'pattern: host canonicalized, search and hash free'],
            ['https://e.com:8443/b/3', 'no: another port'],
            ['https://e.com/b/{id}', 'exact: braces are no template in 1.0'],
            ['https://e.com/b/7', 'pattern again'],
        ] as [$topic, $data]) {
            self::publishOk($hub, ['topic' => $topic, 'data' => $data]);
        }
        self::assertSame(
            ['pattern', 'exact', 'pattern: host canonicalized, search and hash free', 'exact: braces are no template in 1.0', 'pattern again'],
            self::read($stream, 6, 1.5),
        );
    }

    public function testRelativePatternsResolveAgainstTheHubsUrlAndStarMatchesEverything(): void
    {
        $hub = self::$open;
        $relative = self::subscribe($hub, [['match_urlpattern', '/books/:id(\d+)']]);
        $star = self::subscribe($hub, [['match', '*']]);
        self::assertSame(200, $relative->status(), $relative->body());
        $self = 'http://127.0.0.1:' . $hub->port;
        self::publishOk($hub, ['topic' => "$self/books/1", 'data' => 'absolute topic on the hub']);
        self::publishOk($hub, ['topic' => '/books/2', 'data' => 'relative topic']);
        self::publishOk($hub, ['topic' => '/books/abc', 'data' => 'not digits']);
        self::publishOk($hub, ['topic' => 'https://other.example/books/3', 'data' => 'another host']);
        self::publishOk($hub, ['topic' => 'secret', 'data' => 'private', 'private' => 'on']);
        self::assertSame(['absolute topic on the hub', 'relative topic'], self::read($relative, 3, 1.0));
        self::assertSame(['absolute topic on the hub', 'relative topic', 'not digits', 'another host'], self::read($star, 5, 1.0), 'anonymous: no private update');
    }

    public function testRefusedSubscriptionsNameTheParameter(): void
    {
        $long = 'https://e.com/' . str_repeat('a', 4097 - 14);
        $many = array_map(fn (int $i): array => ['match', "t$i"], range(1, 101));
        $cases = [
            // Checklist 3, 4 (mixed), 5 and 6.
            ['Match=foo', 'unknown matcher parameter "Match"'],
            ['matchURLPattern=x', 'unknown matcher parameter "matchURLPattern"'],
            ['match_regexp=x', 'unknown matcher parameter "match_regexp"'],
            ['matches=1', 'unknown matcher parameter "matches"'],
            ['topic=a&match=b', '"topic" (draft-07) and "match" (Mercure 1.0) cannot be mixed'],
            ['last_event_id=x', 'missing "match" subscription parameter'],
            [self::query($many), 'more than 100 matchers'],
            [self::query([['match_urlpattern', $long]]), 'is 4097 bytes long; the limit is 4096'],
            [self::query([['match_urlpattern', 'https://e.com/(']]), '$match_urlpattern: "https://e.com/(" is not a valid URL pattern'],
            ['match=a%00b', 'control character U+0000'],
            ['match=a%E2%80%8Eb', 'format character U+200E'],
            ['match=', '"match" parameter is empty'],
        ];
        foreach ($cases as [$query, $reason]) {
            $answer = self::$open->request('GET', '/?' . $query);
            self::assertSame(400, $answer->status(), $query);
            self::assertStringContainsString($reason, $answer->body(), $query);
            self::assertArrayNotHasKey('www-authenticate', $answer->headers(), $query);
        }
        $limit = self::subscribe(self::$open, [['match', 'https://e.com/' . str_repeat('a', 4096 - 14)]]);
        $limit->close();
        self::assertSame(200, $limit->status(), 'a 4096-byte value is accepted');
    }

    public function testTheQueryIsReadBeforeTheTokenAndCompiledAfter(): void
    {
        $hub = self::$closed;
        // Reading errors first: no token needed to learn of them.
        self::assertSame(400, $hub->request('GET', '/?Match=x')->status());
        // A pattern that does not compile is not compiled without a valid token.
        $unverified = $hub->request('GET', '/?' . self::query([['match_urlpattern', 'https://e.com/(']]));
        self::assertSame(401, $unverified->status(), $unverified->body());
        $forged = 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => ['*']]], 'forged');
        self::assertSame(401, $hub->request('GET', '/?' . self::query([['match_urlpattern', 'https://e.com/(']]), ['Authorization' => $forged])->status());
        // With a valid one, the request's compile budget applies to URL patterns too.
        $token = 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => []]], self::KEY);
        $hostile = array_map(fn (int $i): array => ['match_urlpattern', "/p$i/:x((?:a{50}){50})"], range(1, 40));
        $refused = $hub->request('GET', '/?' . self::query($hostile), ['Authorization' => $token]);
        self::assertSame(400, $refused->status());
        self::assertStringContainsString('exceed together the compile budget of one request (1024 KiB)', $refused->body());
    }

    public function testResumeWithLastEventIdAndTheMercureLastEventIdHeader(): void
    {
        $hub = self::$open;
        $ids = [];
        foreach (['A', 'B', 'C'] as $data) {
            $ids[] = self::publishOk($hub, ['topic' => 'resume-1.0', 'data' => $data]);
        }
        // Checklist 10: resumed after A, and the header names A; never draft-07's header.
        $afterA = self::subscribe($hub, [['match', 'resume-1.0'], ['last_event_id', $ids[0]]]);
        self::assertSame($ids[0], $afterA->headers()['mercure-last-event-id'] ?? null);
        self::assertArrayNotHasKey('last-event-id', $afterA->headers());
        self::assertSame(['B', 'C'], self::read($afterA, 3, 1.0));
        // Checklist 11: the Last-Event-ID header wins over the parameter.
        $headerWins = self::subscribe($hub, [['match', 'resume-1.0'], ['last_event_id', $ids[0]]], ['Last-Event-ID' => $ids[1]]);
        self::assertSame($ids[1], $headerWins->headers()['mercure-last-event-id'] ?? null);
        self::assertSame(['C'], self::read($headerWins, 2, 1.0));
        // Symfony's Twig helper sends draft-07's lastEventID: read in 1.0 requests too.
        $twig = self::subscribe($hub, [['match', 'resume-1.0'], ['lastEventID', $ids[1]]]);
        self::assertSame($ids[1], $twig->headers()['mercure-last-event-id'] ?? null);
        self::assertSame(['C'], self::read($twig, 2, 1.0));
        // Checklist 12: earliest replays everything kept; the header says earliest.
        $earliest = self::subscribe($hub, [['match', 'resume-1.0'], ['last_event_id', 'earliest']]);
        self::assertSame('earliest', $earliest->headers()['mercure-last-event-id'] ?? null);
        self::assertSame(['A', 'B', 'C'], self::read($earliest, 4, 1.0));
        // An unknown id (made up, or another broker's): live only, header earliest.
        foreach (['made-up', '0123456789ab:7', ''] as $unknown) {
            $stream = self::subscribe($hub, [['match', 'resume-1.0'], ['last_event_id', $unknown]]);
            self::assertSame('earliest', $stream->headers()['mercure-last-event-id'] ?? null, "cursor \"$unknown\"");
            self::assertArrayNotHasKey('last-event-id', $stream->headers());
            $live = self::publishOk($hub, ['topic' => 'resume-1.0', 'data' => "live after \"$unknown\""]);
            $events = $stream->events(2, 1.0);
            $stream->close();
            self::assertSame([["id" => $live, 'data' => "live after \"$unknown\""]], $events);
        }
    }

    public function testAnIdOlderThanTheHistoryIsEarliestAndTheStreamGoesLive(): void
    {
        $hub = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1']);
        try {
            $gone = self::publishOk($hub, ['topic' => 'gone', 'data' => 'gone']);
            // More events than the history keeps by default (10,000), straight into the broker:
            // the embedded log deletes whole segments (of 1,250 events) beyond the count.
            $broker = new \Sse\Broker('local://' . $hub->directory . '/broker');
            for ($i = 0; $i < 12_500; $i++) {
                $broker->publish('filler', ['data' => (string) $i]);
            }
            $stream = self::subscribe($hub, [['match', 'gone'], ['last_event_id', $gone]]);
            self::assertSame('earliest', $stream->headers()['mercure-last-event-id'] ?? null);
            $live = self::publishOk($hub, ['topic' => 'gone', 'data' => 'live']);
            // The live update, however busy the machine; then nothing more (no old one).
            $stream->events(1, 10.0);
            $events = $stream->events(2, 0.5);
            $stream->close();
            self::assertSame([['id' => $live, 'data' => 'live']], $events);
        } finally {
            $hub->stop();
        }
    }

    public function testADraft07SubscriberOnTheSameHubKeepsItsBehaviour(): void
    {
        $hub = self::$open;
        $old = $hub->subscribe(['https://e.com/old/{id}'], [], '&lastEventID=' . rawurlencode('made-up'));
        $new = self::subscribe($hub, [['match_urlpattern', 'https://e.com/old/:id']]);
        self::assertSame(200, $old->status(), $old->body());
        self::assertArrayHasKey('last-event-id', $old->headers(), "draft-07's response header");
        self::assertArrayNotHasKey('mercure-last-event-id', $old->headers());
        $id = self::publishOk($hub, ['topic' => 'https://e.com/old/1', 'data' => 'both']);
        self::publishOk($hub, ['topic' => 'https://e.com/old/1/x', 'data' => 'neither']);
        self::assertSame([['id' => $id, 'data' => 'both']], $old->events(2, 1.0));
        self::assertSame(['both'], self::read($new, 2, 0.2));
        $old->close();
    }

    public function testPrivateUpdatesStillFollowTheTokensClaim(): void
    {
        $hub = self::$closed;
        $token = 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => ['https://example.com/users/7/{+rest}']]], self::KEY);
        $user7 = self::subscribe($hub, [['match_urlpattern', 'https://example.com/users/:id/*']], ['Authorization' => $token]);
        self::assertSame(200, $user7->status(), $user7->body());
        self::publishOk($hub, ['topic' => 'https://example.com/users/8/orders', 'data' => 'not for 7', 'private' => 'on']);
        self::publishOk($hub, ['topic' => 'https://example.com/users/7/orders', 'data' => 'for 7', 'private' => 'on']);
        self::publishOk($hub, ['topic' => 'https://example.com/users/8/profile', 'data' => 'public']);
        self::assertSame(['for 7', 'public'], self::read($user7, 3, 1.0));
    }

    public function testCorsAllowsQueryAndExposesMercureLastEventId(): void
    {
        $preflight = self::$open->request('OPTIONS', '/', ['Origin' => self::APP, 'Access-Control-Request-Method' => 'QUERY']);
        self::assertSame(204, $preflight->status());
        self::assertStringContainsString('QUERY', $preflight->headers()['access-control-allow-methods']);
        $stream = self::subscribe(self::$open, [['match', 'x'], ['last_event_id', 'earliest']], ['Origin' => self::APP]);
        self::assertSame(self::APP, $stream->headers()['access-control-allow-origin']);
        self::assertStringContainsString('Mercure-Last-Event-ID', $stream->headers()['access-control-expose-headers']);
        $stream->close();
        $put = self::$open->request('PUT', '/');
        self::assertSame(405, $put->status());
        self::assertSame('GET, QUERY, POST, OPTIONS', $put->headers()['allow']);
    }
}
