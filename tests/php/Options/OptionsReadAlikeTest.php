<?php

declare(strict_types=1);

namespace Sse\Tests\Options;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\MercureHub;
use Sse\SseEmitter;

/**
 * SseEmitter, Broker and MercureHub read their options with one reader: a number may be an int,
 * a float or a numeric string (as env() returns it) in every class, a boolean is true or false,
 * and every refusal is an \InvalidArgumentException of one shape naming the option.
 */
final class OptionsReadAlikeTest extends TestCase
{
    public function testNumericStringsAreNumbersEverywhere(): void
    {
        self::assertInstanceOf(SseEmitter::class, new SseEmitter(['heartbeat' => '40', 'maxDuration' => ' 0.5 ', 'retry' => '2000']));
        self::assertInstanceOf(Broker::class, new Broker('memory', ['history' => '100', 'historyAge' => '1e3', 'publishTimeout' => '1.5']));
        self::assertInstanceOf(MercureHub::class, new MercureHub(new Broker('memory'), ['heartbeat' => '40']));
    }

    /** @return iterable<string, array{callable, string}> */
    public static function refusals(): iterable
    {
        $emitter = fn (array $o) => new SseEmitter($o);
        $broker = fn (array $o) => new Broker('memory', $o);
        $hub = fn (array $o) => new MercureHub(new Broker('memory'), $o);
        yield 'emitter heartbeat text' => [fn () => $emitter(['heartbeat' => 'soon']), 'Invalid option "heartbeat": must be'];
        yield 'hub heartbeat text' => [fn () => $hub(['heartbeat' => 'soon']), 'Invalid option "heartbeat": must be'];
        yield 'broker history text' => [fn () => $broker(['history' => 'many']), 'Invalid option "history": must be'];
        yield 'emitter heartbeat inf' => [fn () => $emitter(['heartbeat' => 'inf']), 'Invalid option "heartbeat": must be'];
        yield 'hub heartbeat NaN' => [fn () => $hub(['heartbeat' => 'NaN']), 'Invalid option "heartbeat": must be'];
        yield 'broker age negative' => [fn () => $broker(['historyAge' => '-1']), 'Invalid option "historyAge": must be'];
        yield 'emitter bool text' => [fn () => $emitter(['keepTimeLimit' => 'true']), 'Invalid option "keepTimeLimit": must be a bool'];
        yield 'hub bool text' => [fn () => $hub(['anonymous' => 'false']), 'Invalid option "anonymous": must be a bool'];
        yield 'emitter unknown' => [fn () => $emitter(['heartbeats' => 1]), 'Invalid option "heartbeats": unknown option; the options are'];
        yield 'broker unknown' => [fn () => $broker(['histroy' => 1]), 'Invalid option "histroy": unknown option; the options are'];
        yield 'hub unknown' => [fn () => $hub(['heartbeats' => 1]), 'Invalid option "heartbeats": unknown option; the options are'];
    }

    /** @dataProvider refusals */
    #[\PHPUnit\Framework\Attributes\DataProvider('refusals')]
    public function testRefusalsHaveOneShape(callable $make, string $message): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage($message);
        $make();
    }
}
