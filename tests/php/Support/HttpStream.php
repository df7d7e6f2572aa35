<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * One HTTP request on a raw socket and its response, read as it arrives: each chunk is kept
 * with the time it arrived (counted from the request), the body is dechunked when the response
 * says `Transfer-Encoding: chunked` (php -S does not chunk: it ends a response by closing the
 * connection), and an event stream's events are read field by field.
 */
final class HttpStream
{
    private string $raw = '';
    /** @var list<array{float, string}> */
    private array $arrivals = [];
    private bool $ended = false;

    /** @param resource $socket */
    private function __construct(private $socket, private readonly float $sentAt)
    {
    }

    public static function open(int $port, string $method, string $target, array $headers = [], string $body = '', string $version = '1.1'): self
    {
        $socket = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 5);
        if ($socket === false) {
            throw new \RuntimeException("cannot connect to 127.0.0.1:$port: $error");
        }
        $lines = ["$method $target HTTP/$version", "Host: 127.0.0.1:$port"];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        if ($body !== '' || $method === 'POST') {
            $lines[] = 'Content-Length: ' . strlen($body);
        }
        fwrite($socket, implode("\r\n", $lines) . "\r\n\r\n" . $body);
        stream_set_blocking($socket, false);
        return new self($socket, microtime(true));
    }

    /** Reads until `$done($this)` holds, the server closes the connection or `$seconds` pass; whether it held. */
    public function readUntil(callable $done, float $seconds): bool
    {
        $deadline = microtime(true) + $seconds;
        while (!$done($this)) {
            $left = $deadline - microtime(true);
            if ($left <= 0 || !$this->pump(min($left, 0.05))) {
                return $done($this);
            }
        }
        return true;
    }

    /** Reads until the server closes the connection or `$seconds` pass. */
    public function readToEnd(float $seconds): void
    {
        $this->readUntil(fn (): bool => $this->ended, $seconds);
    }

    /** Reads the response head (status line and headers), waiting at most `$seconds`. */
    public function readHead(float $seconds): void
    {
        $this->readUntil(fn (): bool => str_contains($this->raw, "\r\n\r\n"), $seconds);
    }

    /** Whether the server closes the stream within `$seconds`. */
    public function ends(float $seconds): bool
    {
        return $this->readUntil(fn (): bool => $this->ended, $seconds);
    }

    /**
     * Reads until `$count` events arrived or `$seconds` passed; every event read so far.
     * @return list<array<string, string>>
     */
    public function events(int $count, float $seconds = 5.0): array
    {
        $this->readUntil(fn (): bool => count(self::parseEvents($this->body())) >= $count, $seconds);
        return self::parseEvents($this->body());
    }

    public function close(): void
    {
        if (is_resource($this->socket)) {
            fclose($this->socket);
        }
    }

    /** The status line and headers read so far, without the blank line that ends them. */
    public function head(): string
    {
        return explode("\r\n\r\n", $this->raw, 2)[0];
    }

    public function status(): int
    {
        return (int) (explode(' ', explode("\r\n", $this->head())[0])[1] ?? 0);
    }

    /** @return array<string, string> header names in lower case */
    public function headers(): array
    {
        $headers = [];
        foreach (array_slice(explode("\r\n", $this->head()), 1) as $line) {
            [$name, $value] = explode(':', $line, 2) + [1 => ''];
            $headers[strtolower(trim($name))] = trim($value);
        }
        return $headers;
    }

    /** The body read so far, dechunked when it is chunked. */
    public function body(): string
    {
        $body = explode("\r\n\r\n", $this->raw, 2)[1] ?? '';
        return strcasecmp($this->headers()['transfer-encoding'] ?? '', 'chunked') === 0 ? self::dechunk($body) : $body;
    }

    /** When the first byte of `$needle` (in the raw response, head included) had arrived, in seconds since the request. */
    public function arrivalOf(string $needle): ?float
    {
        $seen = '';
        foreach ($this->arrivals as [$at, $chunk]) {
            $seen .= $chunk;
            if (str_contains($seen, $needle)) {
                return $at;
            }
        }
        return null;
    }

    /** Reads what arrives within `$seconds`; false once the server has closed the connection. */
    private function pump(float $seconds): bool
    {
        if ($this->ended) {
            return false;
        }
        $read = [$this->socket];
        $none = null;
        $whole = (int) $seconds;
        if (@stream_select($read, $none, $none, $whole, (int) (($seconds - $whole) * 1e6)) > 0) {
            $chunk = fread($this->socket, 65536);
            if ($chunk === '' || $chunk === false) {
                $this->ended = feof($this->socket);
                return !$this->ended;
            }
            $this->raw .= $chunk;
            $this->arrivals[] = [microtime(true) - $this->sentAt, $chunk];
        }
        return true;
    }

    /** A chunked body read so far, the part of a chunk still arriving included. */
    private static function dechunk(string $raw): string
    {
        $out = '';
        while (preg_match('/^([0-9a-fA-F]+)\r\n/', $raw, $m)) {
            $size = (int) hexdec($m[1]);
            $start = strlen($m[0]);
            $out .= substr($raw, $start, $size);
            if ($size === 0 || strlen($raw) < $start + $size) {
                break;
            }
            $raw = substr($raw, $start + $size + 2);
        }
        return $out;
    }

    /**
     * The whole events of an event stream, each as the fields it was sent with, in their order
     * (comments skipped; data lines joined with "\n"; a block without data is no event). Unlike
     * Sse\EventStreamParser, this keeps what was on the wire: which fields, in which order, and
     * an event's `retry`.
     * @return list<array<string, string>>
     */
    private static function parseEvents(string $stream): array
    {
        $events = [];
        $blocks = explode("\n\n", $stream);
        array_pop($blocks); // what follows the last blank line is not a whole event yet
        foreach ($blocks as $block) {
            $event = [];
            foreach (explode("\n", $block) as $line) {
                if ($line === '' || $line[0] === ':') {
                    continue;
                }
                [$field, $value] = explode(':', $line, 2) + [1 => ''];
                $value = ltrim($value, ' ');
                $event[$field] = isset($event[$field]) && $field === 'data' ? $event[$field] . "\n" . $value : $value;
            }
            if (isset($event['data'])) {
                $events[] = $event;
            }
        }
        return $events;
    }
}
