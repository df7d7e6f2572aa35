<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\HubServer;
use Sse\Tests\Support\Jwt;

/**
 * Mercure 1.0's active subscriptions on the hub served by `php -S` (option `subscriptions`):
 * the subscription documents, their topics with each part percent-encoded once (as the Go hub
 * does: `%20` for a space, `%2F` for a slash), the subscription events a watcher gets, the
 * collection and single-subscriber answers of the API, and its refusals.
 */
final class MercureSubscriptionsTest extends TestCase
{
    private const KEY = 'subscriptions-test-secret-of-at-least-256-bits';
    private const PREFIX = '/.well-known/mercure/subscriptions';

    private static HubServer $hub;

    public static function setUpBeforeClass(): void
    {
        self::$hub = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_SUBSCRIPTIONS' => '1']);
    }

    public static function tearDownAfterClass(): void
    {
        self::$hub->stop();
    }

    private static function bearer(array $mercure): array
    {
        return ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => $mercure], self::KEY)];
    }

    /** @return array<string, mixed> */
    private static function json(string $body): array
    {
        return json_decode($body, true, 512, JSON_THROW_ON_ERROR);
    }

    public function testASubscriptionIsAnEventAndAnEntryOfTheApiWithItsPartsEncodedOnce(): void
    {
        $watcher = self::$hub->subscribe([], self::bearer(['subscribe' => ['*']]), 'match_urlpattern=' . rawurlencode(self::PREFIX . '/:type/:match/:subscriber'));
        self::assertSame(200, $watcher->status(), $watcher->body());
        $match = 'room 1/chat';
        $member = self::$hub->subscribe([], self::bearer(['subscribe' => [$match], 'payload' => ['name' => 'Ada']]), 'match=' . rawurlencode($match));
        self::assertSame(200, $member->status(), $member->body());
        try {
            $events = array_values(array_filter($watcher->events(2, 10.0), static fn (array $e): bool => ($e['event'] ?? '') === 'mercure'));
            $joined = array_values(array_filter(array_map(static fn (array $e): array => self::json($e['data']), $events), static fn (array $d): bool => $d['match'] === $match));
            self::assertCount(1, $joined, 'one event for the member joining');
            $document = $joined[0];
            self::assertMatchesRegularExpression('/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $document['subscriber']);
            $topic = self::PREFIX . '/exact/room%201%2Fchat/' . rawurlencode($document['subscriber']);
            self::assertSame(
                ['id' => $topic, 'type' => 'subscription', 'subscriber' => $document['subscriber'], 'match' => $match, 'match_type' => 'exact', 'active' => true, 'payload' => ['name' => 'Ada']],
                $document,
            );

            $all = self::$hub->request('GET', self::PREFIX, self::bearer(['subscribe' => ['*']]));
            self::assertSame(200, $all->status(), $all->body());
            self::assertStringStartsWith('application/json', $all->headers()['content-type'] ?? '');
            self::assertMatchesRegularExpression('/^<\/\.well-known\/mercure>; rel="mercure"; last-event-id="[^"]+"/', $all->headers()['link'] ?? '');
            $collection = self::json($all->body());
            self::assertSame(self::PREFIX, $collection['id']);
            self::assertSame('subscriptions', $collection['type']);
            $listed = array_values(array_filter($collection['subscriptions'], static fn (array $s): bool => $s['match'] === $match));
            self::assertSame([$document], $listed);

            $one = self::$hub->request('GET', $topic, self::bearer(['subscribe' => ['*']]));
            self::assertSame(200, $one->status(), $one->body());
            self::assertSame($document, self::json($one->body()));
        } finally {
            $member->close();
        }
        $left = array_values(array_filter(
            array_map(static fn (array $e): array => self::json($e['data']), array_filter($watcher->events(3, 10.0), static fn (array $e): bool => ($e['event'] ?? '') === 'mercure')),
            static fn (array $d): bool => $d['match'] === $match && $d['active'] === false,
        ));
        $watcher->close();
        self::assertCount(1, $left, 'one event for the member leaving');
        self::assertSame($document['subscriber'], $left[0]['subscriber']);
    }

    public function testTheApiIsAuthorizedLikeASubscriptionToItsPath(): void
    {
        self::assertSame(401, self::$hub->request('GET', self::PREFIX)->status());
        self::assertSame(403, self::$hub->request('GET', self::PREFIX, self::bearer(['subscribe' => ['https://example.com/x']]))->status());
        self::assertSame(200, self::$hub->request('GET', self::PREFIX, self::bearer(['subscribe' => [self::PREFIX]]))->status());
    }

    public function testAnUnknownMatchTypeIsA400AndAnUnknownSubscriberA404(): void
    {
        $token = self::bearer(['subscribe' => ['*']]);
        $unknown = self::$hub->request('GET', self::PREFIX . '/regexp/x', $token);
        self::assertSame(400, $unknown->status());
        self::assertStringContainsString('unknown match type', $unknown->body());
        self::assertSame(404, self::$hub->request('GET', self::PREFIX . '/exact/x/' . rawurlencode('urn:uuid:nobody'), $token)->status());
    }
}
