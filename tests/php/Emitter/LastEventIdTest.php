<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\Tests\Support\LastEventIdIsolation;

/**
 * lastEventId(): the Last-Event-ID header, else the lastEventId query parameter (polyfills
 * that cannot set headers send it there). It is request input, so anything that could not
 * have been an id this library framed is dropped.
 */
final class LastEventIdTest extends TestCase
{
    use LastEventIdIsolation;

    public function testNullWithoutEither(): void
    {
        self::assertNull((new SseEmitter())->lastEventId());
    }

    public function testFromTheHeader(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'evt-41';

        self::assertSame('evt-41', (new SseEmitter())->lastEventId());
    }

    public function testFromTheQueryParameter(): void
    {
        $_GET['lastEventId'] = '17';

        self::assertSame('17', (new SseEmitter())->lastEventId());
    }

    public function testTheHeaderWinsOverTheQuery(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'from-header';
        $_GET['lastEventId'] = 'from-query';

        self::assertSame('from-header', (new SseEmitter())->lastEventId());
    }

    public function testReadWhenCalledNotWhenConstructed(): void
    {
        $sse = new SseEmitter();
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'late';

        self::assertSame('late', $sse->lastEventId());
    }

    public function testUnicodeAndExactly1024BytesAreAccepted(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'é-1';
        self::assertSame('é-1', (new SseEmitter())->lastEventId());

        $_SERVER['HTTP_LAST_EVENT_ID'] = str_repeat('a', 1024);
        self::assertSame(str_repeat('a', 1024), (new SseEmitter())->lastEventId());
    }

    /** @return iterable<string, array{string}> */
    public static function unacceptable(): iterable
    {
        yield 'invalid UTF-8' => ["\xff1"];
        yield 'truncated UTF-8' => ["\xc3"];
        yield 'carriage return' => ["1\r2"];
        yield 'line feed' => ["1\n2"];
        yield 'NUL' => ["1\0"];
        yield 'over 1024 bytes' => [str_repeat('a', 1025)];
        yield 'empty' => [''];
    }

    /** @dataProvider unacceptable */
    #[\PHPUnit\Framework\Attributes\DataProvider('unacceptable')]
    public function testAnUnacceptableHeaderGivesNull(string $raw): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = $raw;

        self::assertNull((new SseEmitter())->lastEventId());
    }

    /** @dataProvider unacceptable */
    #[\PHPUnit\Framework\Attributes\DataProvider('unacceptable')]
    public function testAnUnacceptableQueryParameterGivesNull(string $raw): void
    {
        $_GET['lastEventId'] = $raw;

        self::assertNull((new SseEmitter())->lastEventId());
    }

    public function testAQueryParameterThatIsAnArrayGivesNull(): void
    {
        $_GET['lastEventId'] = ['1', '2'];

        self::assertNull((new SseEmitter())->lastEventId());
    }
}
