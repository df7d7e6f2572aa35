<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * `php -S` with the extension loaded, on a free loopback port: started, waited for until it
 * accepts connections, and stopped together with the workers it forks (PHP_CLI_SERVER_WORKERS).
 */
final class PhpServer
{
    /** @var resource|null */
    private $process;
    public readonly int $port;

    /**
     * @param string $root the document root (`-t`)
     * @param string|null $router the router script, or null to serve the files under $root
     * @param array<string, string> $env the server's whole environment (PATH is added)
     * @param list<string> $php php's options before the extension (`-n`, or `-c` and an ini file)
     * @param array<string, string> $ini `-d` settings after the extension
     * @param string $log where the server's output goes
     */
    public function __construct(
        string $root,
        ?string $router = null,
        array $env = [],
        array $php = ['-n'],
        array $ini = [],
        private readonly string $log = '/dev/null',
    ) {
        $this->port = self::freePort();
        $command = [PHP_BINARY, ...$php, '-d', 'extension=' . Extension::path()];
        foreach ($ini as $name => $value) {
            array_push($command, '-d', "$name=$value");
        }
        array_push($command, '-S', '127.0.0.1:' . $this->port, '-t', $root);
        if ($router !== null) {
            $command[] = $router;
        }
        $env += ['PATH' => getenv('PATH') ?: '/usr/bin:/bin'];
        $io = [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']];
        $process = proc_open($command, $io, $pipes, null, $env);
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->process = $process;
        $deadline = microtime(true) + 5;
        while (microtime(true) < $deadline) {
            $socket = @stream_socket_client('tcp://127.0.0.1:' . $this->port, $errno, $error, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return;
            }
            usleep(20_000);
        }
        $this->stop();
        throw new \RuntimeException('php -S did not start: ' . $this->log());
    }

    /** A free port: bound to 0, read back, released for the server. */
    public static function freePort(): int
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        if ($probe === false) {
            throw new \RuntimeException('cannot bind a loopback port');
        }
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        return $port;
    }

    /** What the server wrote (when a log file was given). */
    public function log(): string
    {
        return $this->log === '/dev/null' ? '' : (string) @file_get_contents($this->log);
    }

    /** A request, its response to be read as it arrives. */
    public function open(string $method, string $target, array $headers = [], string $body = '', string $version = '1.1'): HttpStream
    {
        try {
            return HttpStream::open($this->port, $method, $target, $headers, $body, $version);
        } catch (\RuntimeException $e) {
            throw new \RuntimeException($e->getMessage() . '; server log: ' . $this->log(), 0, $e);
        }
    }

    /** One request, read to its end (or for 10 s), its connection closed. */
    public function request(string $method, string $target, array $headers = [], string $body = ''): HttpStream
    {
        $stream = $this->open($method, $target, $headers + ['Connection' => 'close'], $body);
        $stream->readToEnd(10.0);
        $stream->close();
        return $stream;
    }

    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
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
        $this->process = null;
    }
}
