<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\HubServer;
use Sse\Tests\Support\Jwt;

/**
 * The hub's answers to hostile or careless requests, over real HTTP (`php -S`): CORS never
 * hands credentials to an origin that is not listed, a request's selectors have one budget
 * and cost nothing before its token is verified, and `{var:N}` prefixes count characters.
 */
final class MercureSecurityTest extends TestCase
{
    private const KEY = '!ChangeThisMercureHubJWTSecretKey!';
    private const APP = 'http://app.example.test';
    private const EVIL = 'http://evil.example.test';

    private static ?HubServer $open = null;
    private static ?HubServer $closed = null;

    public static function setUpBeforeClass(): void
    {
        // `*` and one listed origin: the listed one keeps credentials, any other gets `*`.
        self::$open = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1', 'MERCURE_CORS' => '* ' . self::APP]);
        self::$closed = new HubServer(['MERCURE_KEY' => self::KEY]);
    }

    public static function tearDownAfterClass(): void
    {
        self::$open?->stop();
        self::$closed?->stop();
    }

    private static function publisher(): array
    {
        return ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['publish' => ['*']]], self::KEY)];
    }

    /** 100 selectors `{+vN:755}`: about 1 MiB of compiled expression each. */
    private static function hostileSelectors(): array
    {
        return array_map(fn (int $i): string => "{+v$i:755}", range(1, 100));
    }

    public function testAStarGivesAnyOriginAStarAndNeverCredentials(): void
    {
        $hub = self::$open;
        $cookie = ['Cookie' => 'mercureAuthorization=' . Jwt::hs256(['mercure' => ['subscribe' => ['*']]], self::KEY)];
        $preflight = $hub->request('OPTIONS', '/', ['Origin' => self::EVIL, 'Access-Control-Request-Method' => 'GET']);
        $stream = $hub->subscribe(['x'], ['Origin' => self::EVIL] + $cookie);
        $stream->close();
        $publish = $hub->publish(['topic' => 'x', 'data' => 'y'], self::publisher() + ['Origin' => self::EVIL]);
        self::assertSame([204, 200, 200], [$preflight->status(), $stream->status(), $publish->status()]);
        foreach (['preflight' => $preflight, 'subscribe' => $stream, 'publish' => $publish] as $what => $answer) {
            self::assertSame('*', $answer->headers()['access-control-allow-origin'] ?? null, $what);
            self::assertArrayNotHasKey('access-control-allow-credentials', $answer->headers(), $what);
            self::assertSame('Origin', $answer->headers()['vary'] ?? null, $what);
        }
        // A header token still works from any origin: it is no ambient credential.
        self::assertStringContainsString('Authorization', $preflight->headers()['access-control-allow-headers'] ?? '');
    }

    public function testAListedOriginKeepsItsCredentialsBesideAStar(): void
    {
        $hub = self::$open;
        $preflight = $hub->request('OPTIONS', '/', ['Origin' => self::APP, 'Access-Control-Request-Method' => 'GET']);
        $stream = $hub->subscribe(['x'], ['Origin' => self::APP]);
        $stream->close();
        foreach ([$preflight, $stream] as $answer) {
            self::assertSame(self::APP, $answer->headers()['access-control-allow-origin'] ?? null);
            self::assertSame('true', $answer->headers()['access-control-allow-credentials'] ?? null);
        }
        $none = $hub->request('OPTIONS', '/', ['Access-Control-Request-Method' => 'GET']);
        self::assertArrayNotHasKey('access-control-allow-origin', $none->headers(), 'no Origin, no CORS headers');
    }

    public function testOneRequestsSelectorsHaveOneBudgetNamedWhenExceeded(): void
    {
        $hub = self::$open;
        $hostile = $hub->subscribe(self::hostileSelectors());
        $hostile->close();
        self::assertSame(400, $hostile->status(), $hostile->body());
        self::assertStringContainsString('exceed together the compile budget of one request (1024 KiB)', $hostile->body());
        $long = array_map(fn (int $i): string => sprintf('https://example.com/%03d/%s', $i, str_repeat('x', 976)), range(1, 33));
        $tooLong = $hub->subscribe($long);
        $tooLong->close();
        self::assertSame(400, $tooLong->status(), $tooLong->body());
        self::assertStringContainsString('size budget of one request (32768 bytes in total)', $tooLong->body());
        // An ordinary request of 100 templates is within it, and is served.
        $ordinary = $hub->subscribe(array_map(fn (int $i): string => "https://example.com/books$i/{id}", range(1, 100)));
        self::assertSame(200, $ordinary->status(), $ordinary->body());
        $id = $hub->publish(['topic' => 'https://example.com/books42/7', 'data' => 'matched'], self::publisher())->body();
        self::assertSame([['id' => $id, 'data' => 'matched']], $ordinary->events(1));
        $ordinary->close();
    }

    public function testTheTokenIsVerifiedBeforeAnySelectorIsCompiled(): void
    {
        $hub = self::$closed;
        $forged = ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => ['*']]], 'forged')];
        foreach ([[], $forged] as $headers) {
            $started = microtime(true);
            $answer = $hub->subscribe(self::hostileSelectors(), $headers);
            $elapsed = microtime(true) - $started;
            $answer->close();
            // 401, not the budget's 400: the selectors were never compiled. Compiling them
            // one by one took 0.3 to 1.3 s of CPU; the refusal now takes about a millisecond.
            self::assertSame(401, $answer->status(), $answer->body());
            self::assertLessThan(0.1, $elapsed, 'a refused token costs no compiling');
        }
        // A malformed query is still a 400 at once, with or without a token.
        $malformed = $hub->subscribe(['https://example.com/{id']);
        $malformed->close();
        self::assertSame(400, $malformed->status());
        self::assertStringContainsString('is malformed', $malformed->body());
        // With a valid token, the same budget applies.
        $token = ['Authorization' => 'Bearer ' . Jwt::hs256(['mercure' => ['subscribe' => []]], self::KEY)];
        $budget = $hub->subscribe(self::hostileSelectors(), $token);
        $budget->close();
        self::assertSame(400, $budget->status());
        self::assertStringContainsString('compile budget', $budget->body());
    }

    public function testAPrefixCountsAPercentEncodedCharacterAsOne(): void
    {
        $hub = self::$open;
        $stream = $hub->subscribe(['https://example.com/tags/{tag:2}']);
        self::assertSame(200, $stream->status(), $stream->body());
        $ids = [];
        foreach (['https://example.com/tags/%C3%A9t', 'https://example.com/tags/%C3%A9t%C3%A9', 'https://example.com/tags/%E6%97%A5%E6%9C%AC', 'https://example.com/tags/ab'] as $topic) {
            $answer = $hub->publish(['topic' => $topic, 'data' => $topic], self::publisher());
            self::assertSame(200, $answer->status(), $answer->body());
            $ids[$topic] = $answer->body();
        }
        $events = $stream->events(3);
        $stream->close();
        // "ét" and "日本" are two characters each before encoding; "été" is three.
        self::assertSame(
            ['https://example.com/tags/%C3%A9t', 'https://example.com/tags/%E6%97%A5%E6%9C%AC', 'https://example.com/tags/ab'],
            array_column($events, 'data'),
        );
    }
}
