<?php

/**
 * The pure-PHP contender: frames an event the way Sse\ServerSentEvents does, byte for byte,
 * with the same refusals, written as a careful PHP developer would (preg_match('//u') for UTF-8,
 * str_replace() for the line breaks, json_encode for arrays). It is what the extension is
 * measured against. str_replace() rather than preg_split() + implode(): PHP's fastest way to
 * prefix every line (memchr and memcpy per line, one pass to count and one to copy).
 *
 * One shortcut the extension does not take: JSON from json_encode() is not split into lines,
 * since the encoder escapes every CR and LF. That only makes the PHP side faster.
 */

declare(strict_types=1);

final class PhpFramer
{
    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR;

    /** @param array<mixed> $fields */
    public static function frame(array $fields): string
    {
        $comment = $event = $id = $retry = $data = null;
        foreach ($fields as $key => $value) {
            if ($value === null) {
                if (!in_array($key, ['', 'comment', 'event', 'id', 'retry', 'data'], true)) {
                    throw new InvalidArgumentException("Unknown event field \"$key\"");
                }
                continue;
            }
            switch ($key) {
                case '':
                case 'comment':
                    if ($comment !== null) {
                        throw new InvalidArgumentException('comment given twice');
                    }
                    $comment = self::utf8(self::text($value));
                    break;
                case 'event':
                    $event = self::singleLine(self::text($value));
                    break;
                case 'id':
                    $id = self::singleLine(self::text($value));
                    if (str_contains($id, "\0")) {
                        throw new InvalidArgumentException('id contains NUL');
                    }
                    break;
                case 'retry':
                    $retry = self::retry($value);
                    break;
                case 'data':
                    $data = self::data($value);
                    break;
                default:
                    throw new InvalidArgumentException("Unknown event field \"$key\"");
            }
        }

        $out = '';
        if ($comment !== null) {
            $out .= ': ' . self::prefixLines($comment, "\n: ") . "\n";
        }
        if ($event !== null) {
            $out .= "event: $event\n";
        }
        if ($id !== null) {
            $out .= "id: $id\n";
        }
        if ($retry !== null) {
            $out .= "retry: $retry\n";
        }
        if ($data !== null) {
            $out .= 'data: ' . ($data[1] ? self::prefixLines($data[0], "\ndata: ") : $data[0]) . "\n";
        }
        return $out . "\n";
    }

    /** Every CRLF, CR and LF of $value replaced by $break (CRLF and CR first become LF). */
    private static function prefixLines(string $value, string $break): string
    {
        return str_replace("\n", $break, str_replace(["\r\n", "\r"], "\n", $value));
    }

    private static function text(mixed $value): string
    {
        if (is_string($value)) {
            return $value;
        }
        if (is_int($value) || is_float($value)) {
            return (string) $value;
        }
        throw new InvalidArgumentException('must be a string, got ' . get_debug_type($value));
    }

    private static function utf8(string $value): string
    {
        if (preg_match('//u', $value) !== 1) {
            throw new InvalidArgumentException('not valid UTF-8');
        }
        return $value;
    }

    private static function singleLine(string $value): string
    {
        if (strpbrk($value, "\r\n") !== false) {
            throw new InvalidArgumentException('must be a single line');
        }
        return self::utf8($value);
    }

    private static function retry(mixed $value): int
    {
        if (is_int($value) && $value >= 0) {
            return $value;
        }
        if (is_string($value) && ctype_digit($value)) {
            return (int) $value;
        }
        throw new InvalidArgumentException('retry must be a non-negative integer');
    }

    /** @return array{string, bool} the text, and whether it may hold line breaks */
    private static function data(mixed $value): array
    {
        if (is_string($value)) {
            return [self::utf8($value), true];
        }
        if (is_array($value) || is_object($value)) {
            try {
                return [json_encode($value, self::JSON_FLAGS), false];
            } catch (JsonException $e) {
                throw new InvalidArgumentException('data: ' . $e->getMessage(), 0, $e);
            }
        }
        if (is_float($value) && !is_finite($value)) {
            throw new InvalidArgumentException('data is INF or NAN');
        }
        if (is_int($value) || is_float($value) || is_bool($value)) {
            return [(string) $value, false];
        }
        throw new InvalidArgumentException('data cannot be a ' . get_debug_type($value));
    }
}
