<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;

/** reject() answers an EventSource so that it stops reconnecting: never with a 200. */
final class RejectTest extends TestCase
{
    /** @return iterable<string, array{int}> */
    public static function badStatuses(): iterable
    {
        yield '200 makes EventSource reconnect' => [200];
        yield 'below 100' => [99];
        yield 'zero' => [0];
        yield 'negative' => [-204];
        yield 'above 599' => [600];
    }

    /** @dataProvider badStatuses */
    #[\PHPUnit\Framework\Attributes\DataProvider('badStatuses')]
    public function testABadStatusIsRefused(int $status): void
    {
        try {
            SseEmitter::reject($status);
        } catch (\InvalidArgumentException $e) {
            self::assertStringContainsString('$status', $e->getMessage());

            return;
        }
        self::fail("reject($status) was accepted");
    }

    public function testBadHeadersAreRefused(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessageMatches('/headers/');

        SseEmitter::reject(204, ['X-A' => "b\r\nSet-Cookie: x=y"]);
    }

    public function testHopByHopHeadersAreRefused(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessageMatches('/Connection/');

        SseEmitter::reject(204, ['Connection' => 'close']);
    }

    public function testUnderTheCliItWritesNothing(): void
    {
        ob_start();
        try {
            SseEmitter::reject();
            SseEmitter::reject(401, ['WWW-Authenticate' => 'Bearer']);
            SseEmitter::reject(503, ['Retry-After' => '30']);
        } finally {
            $out = ob_get_clean();
        }

        self::assertSame('', $out);
    }
}
