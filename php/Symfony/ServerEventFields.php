<?php

declare(strict_types=1);

namespace Sse\Symfony;

use Sse\InvalidEventException;
use Symfony\Component\HttpFoundation\ServerEvent;

/**
 * A Symfony ServerEvent as the emitter's fields (`event`, `id`, `retry`, `comment`, `data`),
 * read through its getters, so the emitter frames it and checks it like any other event.
 *
 * What it keeps from Symfony: data given as an iterable is one line per item; string data ''
 * (or an empty iterable) is no data line at all, so a ServerEvent with only a comment, an id or
 * a retry is that frame alone. What differs, on purpose: a null field is absent and every other
 * value is sent, so an id, type or comment "0" is not dropped (ServerEvent's own frames test
 * them for truthiness); multi-line data is split on CRLF, CR and LF by the emitter; a line
 * break in the type or id is refused (Sse\InvalidEventException) instead of removed, since it
 * means the value is not what the caller thinks; and a type without data is refused too, as
 * the emitter refuses it (ServerEvent writes a frame that EventSource never dispatches).
 *
 * @internal
 */
final class ServerEventFields
{
    /** @return array<string, mixed> */
    public static function of(ServerEvent $event): array
    {
        $fields = [];
        foreach (['event' => $event->getType(), 'id' => $event->getId(), 'retry' => $event->getRetry(), 'comment' => $event->getComment()] as $name => $value) {
            if ($value !== null) {
                $fields[$name] = $value;
            }
        }
        $data = self::data($event->getData());
        if ($data !== null) {
            $fields['data'] = $data;
        }
        return $fields;
    }

    /** @param iterable<mixed>|string $data */
    private static function data(iterable|string $data): ?string
    {
        if (is_string($data)) {
            return $data === '' ? null : $data;
        }
        $lines = [];
        foreach ($data as $line) {
            $lines[] = self::line($line, count($lines));
        }
        return $lines === [] ? null : implode("\n", $lines);
    }

    /** One item of iterable data: a string, or what PHP would echo for a number or a Stringable. */
    private static function line(mixed $line, int $index): string
    {
        if (is_string($line)) {
            return $line;
        }
        if (is_int($line) || is_float($line) || $line instanceof \Stringable) {
            return (string) $line;
        }
        throw new InvalidEventException(sprintf(
            'Invalid event field "data": item %d of the ServerEvent\'s data is %s; each item must be a string, a number or Stringable',
            $index,
            get_debug_type($line),
        ));
    }
}
