<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * tests/php/Mercure/www/hub.php served for real by `php -S` (four workers, so that streams
 * and publishes run at once), configured through its environment, with a broker directory of
 * its own; requests, publishes and subscriptions to it.
 */
final class HubServer
{
    private PhpServer $server;
    public readonly int $port;
    public readonly string $directory;

    public function __construct(array $env)
    {
        $this->directory = sys_get_temp_dir() . '/sse-mercure-' . bin2hex(random_bytes(6));
        mkdir($this->directory, 0700, true);
        $www = dirname(__DIR__) . '/Mercure/www';
        $env += ['MERCURE_BROKER' => 'local://' . $this->directory . '/broker', 'PHP_CLI_SERVER_WORKERS' => '4'];
        try {
            $this->server = new PhpServer($www, "$www/hub.php", $env, log: $this->directory . '/server.log');
        } catch (\Throwable $e) {
            exec('rm -rf ' . escapeshellarg($this->directory));
            throw $e;
        }
        $this->port = $this->server->port;
    }

    public function stop(): void
    {
        $this->server->stop();
        exec('rm -rf ' . escapeshellarg($this->directory));
    }

    public function log(): string
    {
        return $this->server->log();
    }

    /** One request, read to its end. */
    public function request(string $method, string $target, array $headers = [], string $body = ''): HttpStream
    {
        return $this->server->request($method, $target, $headers, $body);
    }

    /** POST a form with repeated fields (as symfony/mercure does: `topic=a&topic=b`). */
    public function publish(array $fields, array $headers = []): HttpStream
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
     * Opens a subscription and returns it once the response head has arrived; a refusal (not
     * 200) is read to its end, so that its body tells the reason.
     */
    public function subscribe(array $topics, array $headers = [], string $extraQuery = ''): HttpStream
    {
        $query = implode('&', array_map(fn (string $t): string => 'topic=' . rawurlencode($t), $topics)) . $extraQuery;
        $stream = $this->server->open('GET', '/?' . $query, $headers + ['Accept' => 'text/event-stream', 'Connection' => 'close']);
        $stream->readHead(5.0);
        if ($stream->status() !== 200) {
            $stream->readToEnd(5.0);
        }
        return $stream;
    }
}
