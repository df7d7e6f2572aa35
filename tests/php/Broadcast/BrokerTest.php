<?php

declare(strict_types=1);

namespace Sse\Tests\Broadcast;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\InvalidEventException;
use Sse\SseException;

/**
 * Sse\Broker: URLs, options, publish() and every refusal, each with its class and a message
 * that names what is wrong.
 */
final class BrokerTest extends TestCase
{
    private string $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/sse-broker-test-' . getmypid() . '-' . bin2hex(random_bytes(4));
    }

    protected function tearDown(): void
    {
        if (is_dir($this->dir)) {
            exec('rm -rf ' . escapeshellarg($this->dir));
        }
    }

    public function testPublishReturnsIdsInOrderUnderOneEpoch(): void
    {
        $broker = new Broker('local://' . $this->dir);
        $first = $broker->publish('orders', ['event' => 'created', 'data' => ['id' => 1]]);
        $second = $broker->publish(['orders', 'audit'], 'plain data');
        self::assertMatchesRegularExpression('/^[0-9a-f]{12}:1$/', $first);
        self::assertSame(explode(':', $first)[0] . ':2', $second);
        self::assertSame($second, $broker->lastEventId());
        self::assertSame('local://' . $this->dir, $broker->url());
    }

    public function testTheEmbeddedBrokerCreatesItsDirectoryWithTheDocumentedModes(): void
    {
        $old = umask(0077);
        try {
            (new Broker('local://' . $this->dir))->publish('t', 'x');
        } finally {
            umask($old);
        }
        clearstatcache();
        self::assertSame('2770', sprintf('%o', fileperms($this->dir) & 07777));
        self::assertSame('660', sprintf('%o', fileperms($this->dir . '/head') & 0777));
    }

    public function testTheIniSettingIsTheDefaultBroker(): void
    {
        $previous = ini_set('sse.broker', 'memory');
        try {
            self::assertSame('memory', (new Broker())->url());
        } finally {
            ini_set('sse.broker', (string) $previous);
        }
        self::assertSame('local', ini_get('sse.broker'));
    }

    public function testBadUrlsAreRefusedNamingTheUrl(): void
    {
        $cases = [
            'local://relative/dir' => 'needs an absolute directory',
            'local:///a/../b' => 'not a plain absolute directory',
            'http://example.test' => 'is not a broker URL',
            '' => 'is empty',
            'redis://' => 'is not a valid Redis URL',
            'redis://127.0.0.1:1/0?log=Orders' => 'names the log "Orders"; a log name is 1 to 40 of a-z, 0-9',
            'redis://127.0.0.1:1?log=a&log=b' => 'names its log twice',
            'redis-cluster://127.0.0.1:1,127.0.0.1:2?log=' => 'names the log ""',
            'redis-cluster://127.0.0.1:1/3?log=a' => 'database 0 only',
        ];
        foreach ($cases as $url => $reason) {
            try {
                new Broker($url);
                self::fail("no exception for \"$url\"");
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString('$url', $e->getMessage());
                self::assertStringContainsString($reason, $e->getMessage(), $url);
            }
        }
    }

    public function testARedisUrlMayNameItsLog(): void
    {
        // Nothing connects before the first publish or subscription.
        self::assertSame('redis://127.0.0.1:1/0?log=orders', (new Broker('redis://127.0.0.1:1/0?log=orders'))->url());
        $cluster = 'redis-cluster://127.0.0.1:1,127.0.0.1:2?log=eu-1_b';
        self::assertSame($cluster, (new Broker($cluster))->url());
    }

    public function testBadOptionsAreRefusedNamingTheOption(): void
    {
        $cases = [
            [['histroy' => 5], 'Invalid option "histroy": unknown option; the options are history, historyAge and publishTimeout'],
            [['history' => 0], 'Invalid option "history": must be a whole number'],
            [['history' => 1.5], 'Invalid option "history"'],
            [['historyAge' => -1], 'Invalid option "historyAge": must be a positive number of seconds'],
            [['publishTimeout' => 'soon'], 'Invalid option "publishTimeout"'],
        ];
        foreach ($cases as [$options, $message]) {
            try {
                new Broker('memory', $options);
                self::fail('no exception for ' . json_encode($options));
            } catch (\InvalidArgumentException $e) {
                self::assertStringStartsWith($message, $e->getMessage());
            }
        }
        // What env() returns is accepted.
        self::assertSame('memory', (new Broker('memory', ['history' => '500', 'historyAge' => '60', 'publishTimeout' => '0.5']))->url());
    }

    public function testAnEventWithAnIdIsRefusedAndNothingIsPublished(): void
    {
        $broker = new Broker('local://' . $this->dir);
        $before = $broker->lastEventId();
        try {
            $broker->publish('t', ['id' => '7', 'data' => 'x']);
            self::fail('no exception');
        } catch (InvalidEventException $e) {
            self::assertSame('Invalid event field "id": a published event gets its id from the broker; leave the id out', $e->getMessage());
        }
        self::assertSame($before, $broker->lastEventId());
    }

    public function testBadEventsAreRefusedAsEventsAre(): void
    {
        $broker = new Broker('memory');
        $this->expectException(InvalidEventException::class);
        $this->expectExceptionMessage('Invalid event field "event"');
        $broker->publish('t', ['event' => "a\nb", 'data' => 'x']);
    }

    public function testAnEventLargerThanAMegabyteIsRefused(): void
    {
        $this->expectException(InvalidEventException::class);
        $this->expectExceptionMessage('a broker stores at most 1048576');
        (new Broker('memory'))->publish('t', str_repeat('x', 1 << 20));
    }

    public function testHostileTopicNamesAreRefusedNamingTheTopic(): void
    {
        $broker = new Broker('memory');
        $cases = [
            "chat\nroom" => 'topic "chat\nroom" contains the control character U+000A at byte 4',
            "a\0" => 'U+0000',
            "\xff\xfe" => 'is not valid UTF-8',
            str_repeat('a', 201) => 'is 201 bytes long; the limit is 200',
            '' => 'a topic name is empty',
        ];
        foreach ($cases as $topic => $reason) {
            try {
                $broker->publish((string) $topic, 'x');
                self::fail('no exception for ' . json_encode($topic));
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString('$topics', $e->getMessage());
                self::assertStringContainsString($reason, $e->getMessage());
            }
        }
        foreach ([[], ['ok', 5], ['ok', ['nested']]] as $topics) {
            try {
                $broker->publish($topics, 'x');
                self::fail('no exception for ' . json_encode($topics));
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString('$topics', $e->getMessage());
            }
        }
        self::assertMatchesRegularExpression('/:1$/', (new Broker('local://' . $this->dir))->publish('commandes/é 🙂', 'x'));
    }

    public function testAnUnusableDirectoryIsAnSseExceptionNamingThePath(): void
    {
        $file = $this->dir . '-file';
        file_put_contents($file, 'x');
        try {
            new Broker("local://$file/broker");
            self::fail('no exception');
        } catch (SseException $e) {
            self::assertStringStartsWith("Broker local://$file/broker: cannot create the directory: Not a directory", $e->getMessage());
        } finally {
            unlink($file);
        }
    }

    public function testAnUnreachableRedisFailsWithinTheTimeoutNamingTheUrlButNotThePassword(): void
    {
        $broker = new Broker('redis://app:s3cret@127.0.0.1:1/0', ['publishTimeout' => 0.5]);
        self::assertSame('redis://app:***@127.0.0.1:1/0', $broker->url());
        $start = hrtime(true);
        try {
            $broker->publish('t', 'x');
            self::fail('no exception');
        } catch (SseException $e) {
            self::assertStringStartsWith('Broker redis://app:***@127.0.0.1:1/0: cannot connect', $e->getMessage());
            self::assertStringNotContainsString('s3cret', $e->getMessage());
        }
        self::assertLessThan(1.0, (hrtime(true) - $start) / 1e9);
    }
}
