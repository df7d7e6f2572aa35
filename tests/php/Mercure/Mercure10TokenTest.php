<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\HubServer;
use Sse\Tests\Support\Jwt;

/**
 * Mercure 1.0 tokens (RFC 9068 access tokens with RFC 9396 grants) on a hub that serves
 * draft-07 clients too, configured as the Go hub's conformance suite configures its own
 * (one key for both roles, anonymous, issuer https://localhost, that resource identifier),
 * over real HTTP (`php -S`), with tokens signed here. Numbers are items of the test checklist
 * of Mercure 1.0's notes (shared/MERCURE-1.0.md, section 13).
 */
final class Mercure10TokenTest extends TestCase
{
    private const KEY = '!ChangeThisMercureHubJWTSecretKey!';
    private const ISSUER = 'https://localhost';
    private const RESOURCE = 'https://localhost/.well-known/mercure';
    private const DETAIL = 'https://mercure.rocks/authorization-detail';
    private const METADATA = '/.well-known/oauth-protected-resource/.well-known/mercure';
    private const APP = 'http://app.example.test';

    /** The conformance set-up. */
    private static ?HubServer $hub = null;
    /** Not anonymous, with an issuer but no resourceIdentifier (derived from the request), and its own cookie name. */
    private static ?HubServer $closed = null;
    /** draft-07 only: no issuer. */
    private static ?HubServer $legacy = null;

    public static function setUpBeforeClass(): void
    {
        self::$hub = new HubServer([
            'MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1', 'MERCURE_ISSUER' => self::ISSUER,
            'MERCURE_RESOURCE' => self::RESOURCE, 'MERCURE_PUBLISH_ORIGINS' => self::APP,
        ]);
        self::$closed = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ISSUER' => self::ISSUER, 'MERCURE_COOKIE' => 'app_token']);
        self::$legacy = new HubServer(['MERCURE_KEY' => self::KEY, 'MERCURE_ANONYMOUS' => '1']);
    }

    public static function tearDownAfterClass(): void
    {
        self::$hub?->stop();
        self::$closed?->stop();
        self::$legacy?->stop();
    }

    /** An access token: `$header` and `$claims` are merged over a valid one's. */
    private static function token(array $claims = [], array $header = [], string $key = self::KEY): string
    {
        $head = self::b64(json_encode($header + ['alg' => 'HS256', 'typ' => 'at+jwt']));
        $body = self::b64(json_encode($claims + ['iss' => self::ISSUER, 'aud' => self::RESOURCE, 'exp' => time() + 600]));
        return "$head.$body." . self::b64(hash_hmac('sha256', "$head.$body", $key, true));
    }

    private static function b64(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    private static function grant(array $actions, array $topics): array
    {
        return ['type' => self::DETAIL, 'actions' => $actions, 'topics' => $topics];
    }

    private static function publisher(array $topics = [['match' => '*']]): string
    {
        return self::token(['authorization_details' => [self::grant(['publish'], $topics)]]);
    }

    private static function bearer(string $token): array
    {
        return ['Authorization' => "Bearer $token"];
    }

    private static function challenge(HubServer $hub, ?string $error): string
    {
        $metadata = 'resource_metadata="http://127.0.0.1:' . $hub->port . self::METADATA . '"';
        return $error === null ? "Bearer $metadata" : "Bearer error=\"$error\", $metadata";
    }

    /** Publishes a marker with a valid token: the next event a subscriber of `*` gets. */
    private static function marker(HubServer $hub): string
    {
        $answer = $hub->publish(['topic' => 'marker', 'data' => 'marker'], self::bearer(self::publisher()));
        self::assertSame(200, $answer->status(), $answer->body());
        return $answer->body();
    }

    public function testAPublisherAccessTokenPublishes(): void
    {
        // 15 (the id is the broker's here: publisher ids are another part of the work).
        $stream = self::$hub->subscribe(['x']);
        $answer = self::$hub->publish(['topic' => 'x', 'data' => "a\n\nb"], self::bearer(self::publisher([['match' => 'x']])));
        self::assertSame(200, $answer->status(), $answer->body());
        self::assertStringStartsWith('text/plain', $answer->headers()['content-type']);
        self::assertSame([['id' => $answer->body(), 'data' => "a\n\nb"]], $stream->events(1));
        $stream->close();
    }

    /** @return iterable<string, array{string}> */
    public static function badTokens(): iterable
    {
        $publish = ['authorization_details' => [self::grant(['publish'], [['match' => '*']])]];
        $unsigned = self::b64(json_encode(['alg' => 'none', 'typ' => 'at+jwt'])) . '.'
            . self::b64(json_encode($publish + ['iss' => self::ISSUER, 'aud' => self::RESOURCE, 'exp' => time() + 600])) . '.';
        // 16
        yield 'no typ' => [self::token($publish, ['typ' => null])];
        yield 'typ JWT' => [self::token($publish, ['typ' => 'JWT'])];
        yield 'alg none' => [$unsigned];
        yield 'no exp' => [self::token($publish + ['exp' => null])];
        yield 'exp past' => [self::token($publish + ['exp' => time() - 10])];
        yield 'other aud' => [self::token($publish + ['aud' => 'https://other/.well-known/mercure'])];
        yield 'other iss' => [self::token($publish + ['iss' => 'https://evil'])];
        yield 'no aud' => [self::token($publish + ['aud' => null])];
        yield 'nbf to come' => [self::token($publish + ['nbf' => time() + 600])];
        yield 'forged' => [self::token($publish, [], 'another key')];
        // 18
        yield 'actions [1]' => [self::token(['authorization_details' => [self::grant([1], [['match' => '*']])]])];
        yield 'topics []' => [self::token(['authorization_details' => [self::grant(['publish'], [])]])];
        yield 'topics ["*"]' => [self::token(['authorization_details' => [self::grant(['publish'], ['*'])]])];
        yield 'empty match' => [self::token(['authorization_details' => [self::grant(['publish'], [['match' => '']])]])];
        yield 'match_type URLPattern' => [self::token(['authorization_details' => [self::grant(['publish'], [['match' => '*', 'match_type' => 'URLPattern']])]])];
        yield '101 details' => [self::token(['authorization_details' => array_fill(0, 101, self::grant(['publish'], [['match' => '*']]))])];
        yield 'one bad entry among good ones' => [self::token(['authorization_details' => [
            self::grant(['publish'], [['match' => '*']]),
            self::grant(['publish'], [['match' => 'https://e.com/(', 'match_type' => 'urlpattern']]),
        ]])];
    }

    /** @dataProvider badTokens */
    #[\PHPUnit\Framework\Attributes\DataProvider('badTokens')]
    public function testEveryBadAccessTokenIs401InvalidTokenAndPublishesNothing(string $token): void
    {
        $hub = self::$hub;
        $stream = $hub->subscribe(['*']);
        // Each is a 1.0 token by its typ or its grants, so each gets 1.0's answer (a token with
        // grants but without `typ: at+jwt` is refused, never read as a draft-07 one).
        $answer = $hub->publish(['topic' => 'x', 'data' => 'must not be published'], self::bearer($token));
        self::assertSame(401, $answer->status(), $answer->body());
        self::assertSame(self::challenge($hub, 'invalid_token'), $answer->headers()['www-authenticate']);
        self::assertSame("the token is not valid\n", $answer->body(), 'no reason disclosed');
        $marker = self::marker($hub);
        self::assertSame([$marker], array_column($stream->events(1), 'id'), 'nothing was published before the marker');
        $stream->close();
    }

    public function testAcceptedVariants(): void
    {
        $publish = ['authorization_details' => [self::grant(['publish', 'frobnicate'], [['match' => 'x']]), ['type' => 'other', 'topics' => 'x']]];
        foreach ([
            '17 typ application/AT+JWT' => [self::bearer(self::token($publish, ['typ' => 'application/AT+JWT']))],
            '17 aud array' => [self::bearer(self::token($publish + ['aud' => ['https://other.example', self::RESOURCE]]))],
            '24 scheme in lower case' => [['Authorization' => 'bearer ' . self::token($publish)]],
        ] as $what => [$headers]) {
            $answer = self::$hub->publish(['topic' => 'x', 'data' => 'y'], $headers);
            self::assertSame(200, $answer->status(), "$what: " . $answer->body());
        }
    }

    public function testATokenIsNeeded(): void
    {
        // 14: the challenge names the metadata (draft-07's realm stays beside it).
        $answer = self::$hub->publish(['topic' => 'x', 'data' => 'y']);
        self::assertSame(401, $answer->status());
        self::assertSame('Bearer realm="mercure", resource_metadata="http://127.0.0.1:' . self::$hub->port . self::METADATA . '"', $answer->headers()['www-authenticate']);
        self::assertStringNotContainsString('error=', $answer->headers()['www-authenticate']);
    }

    public function testAValidTokenWithoutTheGrantIs403InsufficientScope(): void
    {
        $hub = self::$hub;
        $stream = $hub->subscribe(['*']);
        // 20: every topic must be granted.
        $answer = $hub->publish(['topic' => ['a', 'b'], 'data' => 'no'], self::bearer(self::publisher([['match' => 'a']])));
        self::assertSame(403, $answer->status(), $answer->body());
        self::assertSame(self::challenge($hub, 'insufficient_scope'), $answer->headers()['www-authenticate']);
        // 21: no Mercure detail: valid, grants nothing but public updates.
        $bare = self::token(['authorization_details' => [['type' => 'other']]]);
        self::assertSame(403, $hub->publish(['topic' => 'a', 'data' => 'no'], self::bearer($bare))->status());
        // draft-07's claim means nothing in an access token.
        $claim = self::token(['mercure' => ['publish' => ['*']]]);
        self::assertSame(403, $hub->publish(['topic' => 'a', 'data' => 'no'], self::bearer($claim))->status());
        $subscriber = $hub->subscribe(['*'], self::bearer($bare));
        self::assertSame(200, $subscriber->status(), $subscriber->body());
        $marker = self::marker($hub);
        self::assertSame([$marker], array_column($stream->events(1), 'id'), 'nothing was published before the marker');
        self::assertSame([$marker], array_column($subscriber->events(1), 'id'));
        $stream->close();
        $subscriber->close();
    }

    public function testMalformedPresentationsOfAccessTokensAre400InvalidRequest(): void
    {
        $token = self::publisher();
        // 24: two Authorization headers (the second one written by hand).
        $two = self::$hub->publish(['topic' => 'x', 'data' => 'y'], ['Authorization' => "Bearer $token\r\nAuthorization: Bearer $token"]);
        self::assertSame(400, $two->status(), $two->body());
        self::assertSame(self::challenge(self::$hub, 'invalid_request'), $two->headers()['www-authenticate']);
        // 27: a publish authenticated by the cookie needs an allowed Origin.
        $cookie = ['Cookie' => "__Secure-mercure_access_token=$token"];
        foreach ([[], ['Origin' => 'http://evil.example.test']] as $origin) {
            $answer = self::$hub->publish(['topic' => 'x', 'data' => 'y'], $cookie + $origin);
            self::assertSame(400, $answer->status(), $answer->body());
            self::assertSame(self::challenge(self::$hub, 'invalid_request'), $answer->headers()['www-authenticate']);
        }
        self::assertSame(200, self::$hub->publish(['topic' => 'x', 'data' => 'y'], $cookie + ['Origin' => self::APP])->status());
    }

    public function testTheTokenComesFromTheHeaderOrTheHubsCookieNeverFromTheUrl(): void
    {
        $hub = self::$closed;
        $resource = 'http://127.0.0.1:' . $hub->port . '/.well-known/mercure';
        $subscriber = self::token(['aud' => $resource, 'authorization_details' => [self::grant(['subscribe'], [['match' => '*']])]]);
        // 25: in the URL, an access token is no token (this hub is not anonymous).
        $query = $hub->subscribe(['x'], [], '&authorization=' . $subscriber);
        self::assertSame(401, $query->status(), $query->body());
        // 26: the hub's cookie (named by cookieName) works; draft-07's cookie carries no access token.
        $cookie = $hub->subscribe(['x'], ['Cookie' => "app_token=$subscriber"]);
        self::assertSame(200, $cookie->status(), $cookie->body());
        $cookie->close();
        self::assertSame(401, $hub->subscribe(['x'], ['Cookie' => "mercureAuthorization=$subscriber"])->status());
        self::assertSame(401, $hub->subscribe(['x'], ['Cookie' => "__Secure-mercure_access_token=$subscriber"])->status());
        // With a header, the cookie is ignored.
        $forged = self::token(['aud' => $resource], [], 'another key');
        $both = $hub->subscribe(['x'], ['Cookie' => "app_token=$subscriber"] + self::bearer($forged));
        self::assertSame(401, $both->status());
        self::assertSame(self::challenge($hub, 'invalid_token'), $both->headers()['www-authenticate']);
        // The audience defaults to the request's own hub URL.
        self::assertSame(401, $hub->subscribe(['x'], self::bearer(self::token(['authorization_details' => []])))->status());
    }

    public function testPrivateUpdatesReachOnlyGrantedAccessTokens(): void
    {
        $hub = self::$hub;
        // 22
        $grant = fn (array $topics): string => self::token(['authorization_details' => [self::grant(['subscribe'], $topics)]]);
        $user7 = $hub->subscribe(['*'], ['Cookie' => '__Secure-mercure_access_token=' . $grant([['match' => 'https://example.com/users/:id/orders', 'match_type' => 'urlpattern']])]);
        $alternate = $hub->subscribe(['https://example.com/users/7/orders'], self::bearer($grant([['match' => 'alternate']])));
        $other = $hub->subscribe(['*'], self::bearer($grant([['match' => 'https://example.com/users/8']])));
        $anonymous = $hub->subscribe(['*']);
        self::assertSame([200, 200, 200, 200], [$user7->status(), $alternate->status(), $other->status(), $anonymous->status()]);
        $publish = fn (array $fields): string => $hub->publish($fields, self::bearer(self::publisher()))->body();
        $private = $publish(['topic' => ['https://example.com/users/7/orders', 'alternate'], 'data' => 'private', 'private' => '']);
        $deeper = $publish(['topic' => 'https://example.com/users/7/orders/1', 'data' => 'not matched by :id', 'private' => 'on']);
        $public = $publish(['topic' => 'https://example.com/users/7/orders', 'data' => 'public']);
        self::assertSame([$private, $public], array_column($user7->events(2), 'id'));
        self::assertSame([$private, $public], array_column($alternate->events(2), 'id'));
        self::assertSame([$public], array_column($other->events(1), 'id'));
        self::assertSame([$public], array_column($anonymous->events(1), 'id'));
        self::assertNotContains($deeper, array_column($user7->events(3, 0.3), 'id'));
        foreach ([$user7, $alternate, $other, $anonymous] as $stream) {
            $stream->close();
        }
    }

    public function testAnExpiringSubscriberTokenEndsItsStream(): void
    {
        // 23
        $hub = self::$hub;
        $token = self::token(['exp' => time() + 2, 'authorization_details' => [self::grant(['subscribe'], [['match' => '*']])]]);
        $stream = $hub->subscribe(['x'], self::bearer($token));
        self::assertSame(200, $stream->status(), $stream->body());
        self::assertTrue($stream->ends(4.0), 'the stream ends at exp');
        $stream->close();
        sleep(1);
        $again = $hub->subscribe(['x'], self::bearer($token));
        self::assertSame(401, $again->status());
        self::assertSame(self::challenge($hub, 'invalid_token'), $again->headers()['www-authenticate']);
    }

    public function testDraft07ClientsKeepWorkingOnTheSameHub(): void
    {
        $hub = self::$hub;
        $subscriber = Jwt::hs256(['mercure' => ['subscribe' => ['https://example.com/users/7/{+rest}']]], self::KEY);
        $old = $hub->subscribe(['*'], ['Cookie' => "mercureAuthorization=$subscriber"]);
        self::assertSame(200, $old->status(), $old->body());
        $publisher = self::bearer(Jwt::hs256(['mercure' => ['publish' => ['*']]], self::KEY));
        $private = $hub->publish(['topic' => 'https://example.com/users/7/orders', 'data' => 'old', 'private' => 'on'], $publisher);
        self::assertSame(200, $private->status(), $private->body());
        self::assertSame([$private->body()], array_column($old->events(1), 'id'));
        $old->close();
        // draft-07's answers: the reason in the body.
        $forged = $hub->publish(['topic' => 'x'], self::bearer(Jwt::hs256(['mercure' => ['publish' => ['*']]], 'forged')));
        self::assertSame(401, $forged->status());
        self::assertStringContainsString('signature is not valid', $forged->body());
        // The authorization parameter still carries a draft-07 token.
        $query = self::$closed->subscribe(['x'], [], '&authorization=' . $subscriber);
        self::assertSame(200, $query->status(), $query->body());
        $query->close();
    }

    public function testAHubWithoutAnIssuerTrustsNoAccessToken(): void
    {
        $answer = self::$legacy->publish(['topic' => 'x', 'data' => 'y'], self::bearer(self::publisher()));
        self::assertSame(401, $answer->status());
        self::assertSame(self::challenge(self::$legacy, 'invalid_token'), $answer->headers()['www-authenticate']);
    }

    public function testTheMetadataDocument(): void
    {
        // 31
        $answer = self::$hub->request('GET', self::METADATA);
        self::assertSame(200, $answer->status(), $answer->body());
        self::assertStringStartsWith('application/json', $answer->headers()['content-type']);
        self::assertSame([
            'resource' => self::RESOURCE,
            'bearer_methods_supported' => ['header'],
            'authorization_details_types_supported' => [self::DETAIL],
            'mercure_cookie' => '__Secure-mercure_access_token',
        ], json_decode($answer->body(), true));
        $derived = json_decode(self::$closed->request('GET', self::METADATA)->body(), true);
        self::assertSame('http://127.0.0.1:' . self::$closed->port . '/.well-known/mercure', $derived['resource']);
        self::assertSame('app_token', $derived['mercure_cookie']);
        self::assertSame(405, self::$hub->request('POST', self::METADATA)->status());
    }

    /** @return iterable<string, array{array, string}> */
    public static function badOptions(): iterable
    {
        yield 'empty issuer' => [['issuer' => ''], 'Invalid option "issuer"'];
        yield 'relative resource' => [['resourceIdentifier' => '/.well-known/mercure'], 'Invalid option "resourceIdentifier"'];
        yield 'resource with a fragment' => [['resourceIdentifier' => 'https://h/.well-known/mercure#x'], 'Invalid option "resourceIdentifier"'];
        yield 'cookie name with a separator' => [['cookieName' => 'a=b'], 'Invalid option "cookieName"'];
        yield 'empty cookie name' => [['cookieName' => ''], 'Invalid option "cookieName"'];
    }

    /** @dataProvider badOptions */
    #[\PHPUnit\Framework\Attributes\DataProvider('badOptions')]
    public function testBadOptionsAreNamed(array $options, string $message): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage($message);
        new \Sse\MercureHub(new \Sse\Broker('local://' . sys_get_temp_dir() . '/sse-mercure10-options'), $options);
    }

    public function testTheGoHubsConformanceSetUpIsExpressible(): void
    {
        $hub = new \Sse\MercureHub(new \Sse\Broker('local://' . sys_get_temp_dir() . '/sse-mercure10-options'), [
            'publisherJwtKey' => self::KEY, 'subscriberJwtKey' => self::KEY, 'anonymous' => true,
            'issuer' => self::ISSUER, 'resourceIdentifier' => self::RESOURCE,
        ]);
        self::assertInstanceOf(\Sse\MercureHub::class, $hub);
    }
}
