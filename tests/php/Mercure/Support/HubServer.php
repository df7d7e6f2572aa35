<?php

declare(strict_types=1);

namespace Sse\Tests\Mercure\Support;

/**
 * tests/php/Mercure/www/hub.php served for real by `php -S` (four workers, so that streams
 * and publishes run at once), configured through its environment; and a raw HTTP client that
 * reads responses and event streams as they arrive.
 */
final class HubServer
{
    /** @var resource */
    private $process;
    public readonly int $port;
    public readonly string $directory;

    public function __construct(array $env)
    {
        $this->directory = sys_get_temp_dir() . '/sse-mercure-' . bin2hex(random_bytes(6));
        mkdir($this->directory, 0700, true);
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $this->port = (int) substr(strrchr(stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        $ext = \Sse\Tests\Support\Extension::path();
        $www = dirname(__DIR__) . '/www';
        $env += ['MERCURE_BROKER' => 'local://' . $this->directory . '/broker'];
        $env += ['PHP_CLI_SERVER_WORKERS' => '4', 'PATH' => getenv('PATH') ?: '/usr/bin:/bin'];
        $log = $this->directory . '/server.log';
        $this->process = proc_open(
            [PHP_BINARY, '-n', '-d', "extension=$ext", '-S', '127.0.0.1:' . $this->port, '-t', $www, "$www/hub.php"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']],
            $pipes,
            null,
            $env,
        );
        $deadline = microtime(true) + 5;
        while (microtime(true) < $deadline) {
            $socket = @stream_socket_client('tcp://127.0.0.1:' . $this->port, $errno, $error, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return;
            }
            usleep(20_000);
        }
        throw new \RuntimeException('php -S did not start: ' . @file_get_contents($log));
    }

    public function stop(): void
    {
        // php -S forks its PHP_CLI_SERVER_WORKERS; they outlive a terminated parent, so they
        // are found (by parent pid) and stopped first.
        $parent = proc_get_status($this->process)['pid'];
        $workers = [];
        foreach (glob('/proc/[0-9]*/stat') ?: [] as $stat) {
            $text = (string) @file_get_contents($stat);
            $fields = explode(' ', substr($text, (int) strrpos($text, ')') + 2));
            if ((int) ($fields[1] ?? 0) === $parent) {
                $workers[] = (int) basename(dirname($stat));
            }
        }
        if ($workers !== []) {
            exec('kill ' . implode(' ', $workers) . ' 2>/dev/null');
        }
        proc_terminate($this->process);
        proc_close($this->process);
        exec('rm -rf ' . escapeshellarg($this->directory));
    }

    public function log(): string
    {
        return (string) @file_get_contents($this->directory . '/server.log');
    }

    /**
     * One request, read to its end.
     * @return array{status: int, headers: array<string, string>, body: string}
     */
    public function request(string $method, string $target, array $headers = [], string $body = ''): array
    {
        $socket = $this->send($method, $target, $headers + ['Connection' => 'close'], $body);
        $response = '';
        while (!feof($socket)) {
            $response .= (string) fread($socket, 65536);
        }
        fclose($socket);
        return self::parse($response);
    }

    /** POST a form with repeated fields (as symfony/mercure does: `topic=a&topic=b`). */
    public function publish(array $fields, array $headers = []): array
    {
        $pairs = [];
        foreach ($fields as $name => $value) {
            foreach ((array) $value as $one) {
                $pairs[] = rawurlencode($name) . '=' . rawurlencode((string) $one);
            }
        }
        return $this->request('POST', '/', $headers + ['Content-Type' => 'application/x-www-form-urlencoded'], implode('&', $pairs));
    }

    /**
     * Opens a subscription and returns the socket once the response head has arrived.
     * @return array{socket: resource, status: int, headers: array<string, string>, rest: string}
     */
    public function subscribe(array $topics, array $headers = [], string $extraQuery = ''): array
    {
        $query = implode('&', array_map(fn (string $t): string => 'topic=' . rawurlencode($t), $topics)) . $extraQuery;
        $socket = $this->send('GET', '/?' . $query, $headers + ['Accept' => 'text/event-stream', 'Connection' => 'close'], '');
        $head = '';
        $deadline = microtime(true) + 5;
        while (!str_contains($head, "\r\n\r\n") && microtime(true) < $deadline && !feof($socket)) {
            $head .= (string) fread($socket, 8192);
        }
        [$top, $rest] = explode("\r\n\r\n", $head, 2) + [1 => ''];
        $parsed = self::parse($top . "\r\n\r\n");
        if ($parsed['status'] !== 200) {
            // A refusal: its whole body (the reason), read to the end.
            while (!feof($socket) && microtime(true) < $deadline) {
                $rest .= (string) fread($socket, 8192);
            }
            $rest = self::dechunk($rest);
        }
        return ['socket' => $socket, 'status' => $parsed['status'], 'headers' => $parsed['headers'], 'rest' => $rest];
    }

    /**
     * Reads events from a subscription until `$count` arrived or `$seconds` passed.
     * @return list<array{id?: string, event?: string, data?: string, retry?: string}>
     */
    public static function events(array &$stream, int $count, float $seconds = 5.0): array
    {
        $deadline = microtime(true) + $seconds;
        $buffer = $stream['rest'];
        stream_set_blocking($stream['socket'], false);
        while (count(self::parseEvents(self::dechunk($buffer))) < $count && microtime(true) < $deadline) {
            $read = [$stream['socket']];
            $none = null;
            if (@stream_select($read, $none, $none, 0, 50_000) > 0) {
                $chunk = fread($stream['socket'], 65536);
                if ($chunk === '' && feof($stream['socket'])) {
                    break;
                }
                $buffer .= (string) $chunk;
            }
        }
        $stream['rest'] = $buffer;
        return self::parseEvents(self::dechunk($buffer));
    }

    /** Whether the stream ends (the server closes it) within `$seconds`. */
    public static function ends(array $stream, float $seconds): bool
    {
        $deadline = microtime(true) + $seconds;
        stream_set_blocking($stream['socket'], false);
        while (microtime(true) < $deadline) {
            $read = [$stream['socket']];
            $none = null;
            if (@stream_select($read, $none, $none, 0, 50_000) > 0) {
                $chunk = fread($stream['socket'], 65536);
                if (($chunk === '' || $chunk === false) && feof($stream['socket'])) {
                    return true;
                }
            }
        }
        return false;
    }

    /** @return resource */
    private function send(string $method, string $target, array $headers, string $body)
    {
        $socket = stream_socket_client('tcp://127.0.0.1:' . $this->port, $errno, $error, 5);
        if ($socket === false) {
            throw new \RuntimeException("cannot connect: $error");
        }
        stream_set_timeout($socket, 10);
        $lines = ["$method $target HTTP/1.1", 'Host: 127.0.0.1:' . $this->port];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        if ($body !== '' || $method === 'POST') {
            $lines[] = 'Content-Length: ' . strlen($body);
        }
        fwrite($socket, implode("\r\n", $lines) . "\r\n\r\n" . $body);
        return $socket;
    }

    /** @return array{status: int, headers: array<string, string>, body: string} */
    private static function parse(string $response): array
    {
        [$head, $body] = explode("\r\n\r\n", $response, 2) + [1 => ''];
        $lines = explode("\r\n", $head);
        $status = (int) (explode(' ', $lines[0] ?? '')[1] ?? 0);
        $headers = [];
        foreach (array_slice($lines, 1) as $line) {
            [$name, $value] = explode(':', $line, 2) + [1 => ''];
            $headers[strtolower(trim($name))] = trim($value);
        }
        if (($headers['transfer-encoding'] ?? '') === 'chunked') {
            $body = self::dechunk($body);
        }
        return ['status' => $status, 'headers' => $headers, 'body' => $body];
    }

    /** The body of a chunked response read so far (php -S chunks streamed responses). */
    private static function dechunk(string $raw): string
    {
        if (!preg_match('/^[0-9a-fA-F]+\r\n/', $raw)) {
            return $raw;
        }
        $out = '';
        while (preg_match('/^([0-9a-fA-F]+)\r\n/', $raw, $m)) {
            $size = hexdec($m[1]);
            $start = strlen($m[0]);
            if ($size === 0 || strlen($raw) < $start + $size) {
                $out .= substr($raw, $start, $size);
                break;
            }
            $out .= substr($raw, $start, $size);
            $raw = substr($raw, $start + $size + 2);
        }
        return $out;
    }

    /** @return list<array<string, string>> */
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
