<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\InvalidEventException;
use Sse\MercureHub;

/** The hub's options, mercure_publish()'s arguments and the discovery header: no server needed. */
final class MercureOptionsTest extends TestCase
{
    /** @return array<string, array{array<string, mixed>, string}> */
    public static function badOptions(): array
    {
        return [
            'unknown' => [['publisherJwtKy' => 'x'], 'Invalid option "publisherJwtKy": unknown option; the options are publisherJwtKey'],
            'algorithm none' => [['jwtAlgorithm' => 'none'], 'Invalid option "jwtAlgorithm": "none" is not supported'],
            'algorithm case' => [['subscriberJwtAlgorithm' => 'hs256', 'jwtKey' => 'k'], 'Invalid option "subscriberJwtAlgorithm"'],
            'empty secret' => [['publisherJwtKey' => ''], 'Invalid option "publisherJwtKey": an empty HMAC secret'],
            'RSA key not PEM' => [['subscriberJwtKey' => 'secret', 'jwtAlgorithm' => 'RS256'], 'Invalid option "subscriberJwtKey": is not a key for RS256'],
            'key type' => [['jwtKey' => 42], 'Invalid option "jwtKey": must be a string'],
            'anonymous type' => [['anonymous' => 'yes'], 'Invalid option "anonymous": must be a bool'],
            'origin' => [['corsOrigins' => ['https://ok.example', 'not an origin']], 'Invalid option "corsOrigins": "not an origin" is not an origin'],
            'origin path' => [['publishOrigins' => 'https://app.example/path'], 'Invalid option "publishOrigins"'],
            'heartbeat' => [['heartbeat' => -1], 'Invalid option "heartbeat": must be a number of seconds'],
        ];
    }

    #[DataProvider('badOptions')]
    /** @dataProvider badOptions */
    public function testABadOptionIsAnInvalidArgumentExceptionNamingIt(array $options, string $message): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage($message);
        new MercureHub(new Broker('memory'), $options);
    }

    public function testGoodOptions(): void
    {
        $key = openssl_pkey_get_details(openssl_pkey_new(['private_key_bits' => 2048]))['key'];
        $hub = new MercureHub(new Broker('memory'), [
            'publisherJwtKey' => 'a secret', 'subscriberJwtKey' => $key, 'subscriberJwtAlgorithm' => 'RS256',
            'anonymous' => true, 'corsOrigins' => ['https://app.example', '*'], 'publishOrigins' => 'https://app.example',
            'heartbeat' => 0, 'resetEvents' => true,
        ]);
        self::assertInstanceOf(MercureHub::class, $hub);
        self::assertInstanceOf(MercureHub::class, new MercureHub());
    }

    public function testDiscovery(): void
    {
        self::assertSame('</.well-known/mercure>; rel="mercure"', MercureHub::discover());
        self::assertSame('<https://hub.example/.well-known/mercure>; rel="mercure"', MercureHub::discover('https://hub.example/.well-known/mercure'));
        $this->expectException(\InvalidArgumentException::class);
        MercureHub::discover("https://x\r\nSet-Cookie: a=b");
    }

    public function testMercurePublishReturnsItsIdAndRefusesBadArguments(): void
    {
        $directory = sys_get_temp_dir() . '/sse-mercure-publish-' . bin2hex(random_bytes(6));
        $previous = ini_get('sse.broker');
        ini_set('sse.broker', "local://$directory");
        try {
            self::assertSame('urn:kept', mercure_publish(['https://example.com/a', 'https://example.com/b'], 'data', true, 'urn:kept', 'type', 100), 'the publisher\'s id');
            $id = mercure_publish('https://example.com/a');
            self::assertSame((new Broker())->lastEventId(), $id, 'without one, the broker\'s');
            $refused = [
                [fn () => mercure_publish([]), \InvalidArgumentException::class, 'Invalid argument $topics: an update needs at least one topic'],
                [fn () => mercure_publish([1]), \InvalidArgumentException::class, 'Invalid argument $topics'],
                [fn () => mercure_publish("a\nb"), \InvalidArgumentException::class, 'control character U+000A'],
                [fn () => mercure_publish(str_repeat('t', 193)), \InvalidArgumentException::class, 'the limit is 192'],
                [fn () => mercure_publish(array_map(fn (int $i): string => "t$i", range(1, 33))), \InvalidArgumentException::class, 'more than 32 topics'],
                [fn () => mercure_publish('a', 'x', false, null, "a\nb"), \InvalidArgumentException::class, 'Invalid argument $type'],
                [fn () => mercure_publish('a', 'x', false, null, 'mercure'), \InvalidArgumentException::class, 'Invalid argument $type'],
                [fn () => mercure_publish('*'), \InvalidArgumentException::class, 'selects every topic'],
                [fn () => mercure_publish('https://any.host/.well-known/%6Dercure/x'), \InvalidArgumentException::class, 'reserved namespace'],
                [fn () => mercure_publish('a', 'x', false, '#1'), \InvalidArgumentException::class, 'Invalid argument $id'],
                [fn () => mercure_publish('a', 'x', false, 'earliest'), \InvalidArgumentException::class, 'Invalid argument $id'],
                [fn () => mercure_publish('a', 'x', false, "a\u{202E}b"), \InvalidArgumentException::class, 'format character'],
                [fn () => mercure_publish('a', 'x', false, null, null, -1), \InvalidArgumentException::class, 'Invalid argument $retry'],
                [fn () => mercure_publish('a', str_repeat('x', 1 << 20)), InvalidEventException::class, 'a broker stores at most'],
            ];
            foreach ($refused as [$call, $class, $message]) {
                try {
                    $call();
                    self::fail("accepted: $message");
                } catch (\Throwable $e) {
                    self::assertInstanceOf($class, $e);
                    self::assertStringContainsString($message, $e->getMessage());
                }
            }
            self::assertSame((new Broker())->lastEventId(), $id, 'nothing more was published');
        } finally {
            ini_set('sse.broker', (string) $previous);
            exec('rm -rf ' . escapeshellarg($directory));
        }
    }
}
