<?php

/**
 * Every value Sse\ServerSentEvents refuses, with the exception class and the exact message:
 * a value that could break the frame (or be silently dropped by clients) must never be framed,
 * and the message must tell the developer which field is wrong and why.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing;

use PHPUnit\Framework\TestCase;
use Sse\InvalidEventException;
use Sse\ServerSentEvents;

final class InvalidEventTest extends TestCase
{
    private const SINGLE_LINE = '; this field must be a single line';
    private const NOT_UTF8 = '; the event stream format is UTF-8 only';
    private const RETRY = 'Invalid event field "retry": must be a non-negative integer of milliseconds, got ';
    private const UNKNOWN = "; the fields are event, data, id, retry and comment ('' is another name for comment)";

    /** @return iterable<string, array{array<mixed>, string}> */
    public static function refusedFields(): iterable
    {
        yield 'LF in event' => [['event' => "up\ndata: x"], 'Invalid event field "event": contains a line feed (\n) at byte 2' . self::SINGLE_LINE];
        yield 'CR in event' => [['event' => "a\rb"], 'Invalid event field "event": contains a carriage return (\r) at byte 1' . self::SINGLE_LINE];
        yield 'CRLF in id' => [['id' => "1\r\nevent: evil"], 'Invalid event field "id": contains a carriage return (\r) at byte 1' . self::SINGLE_LINE];
        yield 'LF in id' => [['id' => "\n"], 'Invalid event field "id": contains a line feed (\n) at byte 0' . self::SINGLE_LINE];
        yield 'NUL in id' => [['id' => "a\0b"], 'Invalid event field "id": contains a NUL byte at byte 1; clients ignore such an id'];

        yield 'retry negative' => [['retry' => -1], self::RETRY . '-1'];
        yield 'retry 1.5' => [['retry' => 1.5], self::RETRY . '1.5'];
        yield 'retry "soon"' => [['retry' => 'soon'], self::RETRY . '"soon"'];
        yield 'retry with an injected line' => [['retry' => "100\ndata: x"], self::RETRY . '"100\ndata: x"'];
        yield 'retry "-1"' => [['retry' => '-1'], self::RETRY . '"-1"'];
        yield 'retry ""' => [['retry' => ''], self::RETRY . '""'];
        yield 'retry true' => [['retry' => true], self::RETRY . 'bool'];

        yield 'invalid UTF-8 in event' => [['event' => "ok\xff"], 'Invalid event field "event": is not valid UTF-8 (bad byte at 2)' . self::NOT_UTF8];
        yield 'invalid UTF-8 in id' => [['id' => "\xc3"], 'Invalid event field "id": is not valid UTF-8 (bad byte at 0)' . self::NOT_UTF8];
        yield 'invalid UTF-8 in data' => [['data' => "ok\xff"], 'Invalid event field "data": is not valid UTF-8 (bad byte at 2)' . self::NOT_UTF8];
        yield 'invalid UTF-8 in comment' => [['comment' => "a\xe2\x82"], 'Invalid event field "comment": is not valid UTF-8 (bad byte at 1)' . self::NOT_UTF8];
        yield "invalid UTF-8 in ''" => [['' => "\xed\xa0\x80"], 'Invalid event field "comment": is not valid UTF-8 (bad byte at 0)' . self::NOT_UTF8];

        yield 'data NAN' => [['data' => NAN], 'Invalid event field "data": is INF or NAN, which has no text form in an event'];
        yield 'data INF' => [['data' => INF], 'Invalid event field "data": is INF or NAN, which has no text form in an event'];
        yield 'data -INF' => [['data' => -INF], 'Invalid event field "data": is INF or NAN, which has no text form in an event'];
        yield 'NAN inside array data' => [['data' => [NAN]], 'Invalid event field "data": contains INF or NAN, which JSON cannot encode (json_encode error 7)'];
        yield 'invalid UTF-8 inside array data' => [['data' => ['k' => "\xff"]], 'Invalid event field "data": contains malformed UTF-8 (json_encode error 5)'];

        yield 'unknown key' => [['foo' => 1], 'Unknown event field "foo"' . self::UNKNOWN];
        yield 'key in the wrong case' => [['Data' => 'x'], 'Unknown event field "Data"' . self::UNKNOWN];
        yield 'integer key' => [['x'], 'Unknown event field "0"' . self::UNKNOWN];
        yield 'comment given twice' => [['comment' => 'a', '' => 'b'], "Invalid event field \"comment\": given twice, as 'comment' and as ''"];
        yield 'array as event' => [['event' => []], 'Invalid event field "event": must be a string or a number, got array'];
        yield 'bool as id' => [['id' => true], 'Invalid event field "id": must be a string or a number, got bool'];
    }

    /**
     * @dataProvider refusedFields
     * @param array<mixed> $fields
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('refusedFields')]
    public function testRefused(array $fields, string $message): void
    {
        self::assertRefused(static fn () => new ServerSentEvents($fields), $message);
    }

    public function testTheExceptionIsAnInvalidArgumentException(): void
    {
        self::assertTrue(is_subclass_of(InvalidEventException::class, \InvalidArgumentException::class));
    }

    public function testRecursiveArrayData(): void
    {
        $data = [1];
        $data[] = &$data;
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => $data]),
            'Invalid event field "data": contains a recursive reference (json_encode error 6)',
        );
    }

    public function testRecursiveObjectData(): void
    {
        $data = new \stdClass();
        $data->self = $data;
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => $data]),
            'Invalid event field "data": contains a recursive reference (json_encode error 6)',
        );
    }

    public function testDataNestedDeeperThanJsonAllows(): void
    {
        $data = 1;
        for ($i = 0; $i < 600; $i++) {
            $data = [$data];
        }
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => $data]),
            'Invalid event field "data": nests deeper than 512 levels (json_encode error 1)',
        );
    }

    public function testResourceData(): void
    {
        $resource = fopen('php://memory', 'r');
        try {
            self::assertRefused(static fn () => new ServerSentEvents(['data' => $resource]), 'Invalid event field "data": cannot be a resource');
            self::assertRefused(
                static fn () => new ServerSentEvents(['data' => ['file' => $resource]]),
                'Invalid event field "data": contains a value of a type JSON cannot encode (e.g. a resource) (json_encode error 8)',
            );
        } finally {
            fclose($resource);
        }
    }

    public function testAnEventAsDataOfAnother(): void
    {
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => new ServerSentEvents(['data' => 'x'])]),
            'Invalid event field "data": is a ServerSentEvents object; send it as the event itself, not as data',
        );
    }

    /** An exception thrown by jsonSerialize() reaches the caller as it is, not wrapped. */
    public function testJsonSerializeThatThrows(): void
    {
        $data = new class implements \JsonSerializable {
            public function jsonSerialize(): mixed
            {
                throw new \DomainException('not today');
            }
        };
        try {
            new ServerSentEvents(['data' => $data]);
            self::fail('no exception');
        } catch (\DomainException $e) {
            self::assertSame('not today', $e->getMessage());
        }
    }

    public function testNamedConstructorsValidateToo(): void
    {
        self::assertRefused(
            static fn () => ServerSentEvents::message('x', "a\nb"),
            'Invalid event field "event": contains a line feed (\n) at byte 1' . self::SINGLE_LINE,
        );
        self::assertRefused(
            static fn () => ServerSentEvents::message('x', null, "a\0"),
            'Invalid event field "id": contains a NUL byte at byte 1; clients ignore such an id',
        );
        self::assertRefused(
            static fn () => ServerSentEvents::message("\xff"),
            'Invalid event field "data": is not valid UTF-8 (bad byte at 0)' . self::NOT_UTF8,
        );
    }

    /** Same contract as the constructor: a bad value is an InvalidEventException, not a TypeError. */
    public function testNamedConstructorsRefuseInvalidUtf8AsAnInvalidEvent(): void
    {
        self::assertRefused(
            static fn () => ServerSentEvents::comment("ok\xff"),
            'Invalid event field "comment": is not valid UTF-8 (bad byte at 2)' . self::NOT_UTF8,
        );
        self::assertRefused(
            static fn () => ServerSentEvents::message('x', "\xff"),
            'Invalid event field "event": is not valid UTF-8 (bad byte at 0)' . self::NOT_UTF8,
        );
    }

    /**
     * Data is checked once per PHP string (PHP's valid-UTF-8 flag, as PCRE keeps it): a string
     * changed after it was framed is checked again, however it was changed.
     */
    public function testDataChangedAfterItWasFramedIsCheckedAgain(): void
    {
        $changed = str_repeat("ok\n", 3);
        self::assertSame("data: ok\ndata: ok\ndata: ok\ndata: \n\n", (string) new ServerSentEvents(['data' => $changed]));
        $changed[0] = "\xff";
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => $changed]),
            'Invalid event field "data": is not valid UTF-8 (bad byte at 0)' . self::NOT_UTF8,
        );

        $appended = str_repeat('ab', 4);
        self::assertSame(1, preg_match('//u', $appended));
        new ServerSentEvents(['data' => $appended]);
        $appended .= "\xe2\x82";
        self::assertRefused(
            static fn () => new ServerSentEvents(['data' => $appended]),
            'Invalid event field "data": is not valid UTF-8 (bad byte at 8)' . self::NOT_UTF8,
        );

        $bad = "k\xff";
        self::assertRefused(static fn () => new ServerSentEvents(['data' => $bad]), 'Invalid event field "data": is not valid UTF-8 (bad byte at 1)' . self::NOT_UTF8);
        self::assertRefused(static fn () => new ServerSentEvents(['data' => $bad]), 'Invalid event field "data": is not valid UTF-8 (bad byte at 1)' . self::NOT_UTF8);
    }

    /** A failed encode must not leave its error for the application's next json_last_error(). */
    public function testJsonLastErrorIsUntouchedByAFailedEncode(): void
    {
        json_encode(1);
        self::assertRefusedQuietly(['data' => ['k' => "\xff"]]);
        self::assertSame(JSON_ERROR_NONE, json_last_error());
        self::assertSame('No error', json_last_error_msg());

        json_decode('{');
        self::assertSame(JSON_ERROR_SYNTAX, json_last_error());
        self::assertRefusedQuietly(['data' => [NAN]]);
        self::assertSame(JSON_ERROR_SYNTAX, json_last_error());
    }

    public function testJsonLastErrorIsUntouchedByASuccessfulEncode(): void
    {
        json_decode('{');
        new ServerSentEvents(['data' => ['ok' => true]]);
        self::assertSame(JSON_ERROR_SYNTAX, json_last_error());
    }

    /** @param array<mixed> $fields */
    private static function assertRefusedQuietly(array $fields): void
    {
        try {
            new ServerSentEvents($fields);
            self::fail('no exception for ' . var_export($fields, true));
        } catch (InvalidEventException) {
        }
    }

    private static function assertRefused(callable $build, string $message): void
    {
        try {
            $build();
        } catch (\Throwable $e) {
            self::assertSame(InvalidEventException::class, get_class($e), 'exception class; message: ' . $e->getMessage());
            self::assertSame($message, $e->getMessage());
            return;
        }
        self::fail('no exception; expected: ' . $message);
    }
}
