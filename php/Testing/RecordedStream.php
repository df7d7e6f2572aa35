<?php

declare(strict_types=1);

namespace Sse\Testing;

use PHPUnit\Framework\Assert;
use Sse\EventStreamParser;
use Sse\Laravel\SseResponse;
use Sse\Symfony\EventStreamResponse;
use Symfony\Component\HttpFoundation\Response;

/**
 * What a stream wrote, read back the way a browser's EventSource reads it, with assertions in
 * the style of Laravel's TestResponse: each returns $this, and a failure says what was expected
 * and what the stream actually sent.
 *
 * ```php
 * EventStreamRecorder::record(fn (SseEmitter $sse) => $sse->send(['event' => 'hi', 'data' => 'x']))
 *     ->assertSent('hi', fn (string $data) => $data === 'x')
 *     ->assertSentCount(1);
 * ```
 */
final class RecordedStream
{
    /** @var list<array{event: string, data: string, id: string}> */
    private array $events;
    private ?int $retry;
    private string $lastEventId;

    /**
     * @param array<string, string> $headers response headers, names as sent
     * @param ?bool $closed whether the stream was closed, null when that cannot be known
     */
    public function __construct(
        private string $body,
        private array $headers = [],
        private ?bool $closed = null,
    ) {
        $parser = new EventStreamParser();
        $this->events = $parser->feed($body);
        $this->retry = $parser->retry();
        $this->lastEventId = $parser->lastEventId();
    }

    /**
     * Runs a streamed Symfony or Laravel response (sendContent() only: no headers are sent) and
     * records its body; the headers are the response object's, with the emitter headers of an
     * SseResponse or an Sse\Symfony\EventStreamResponse over them, as a client receives them.
     */
    public static function fromResponse(Response $response): self
    {
        $body = OutputCapture::run(static fn () => $response->sendContent());
        $headers = [];
        foreach ($response->headers->allPreserveCase() as $name => $values) {
            $headers[$name] = implode(', ', $values);
        }
        $emitter = $response instanceof SseResponse || $response instanceof EventStreamResponse ? $response->emitter() : null;
        // On the wire, the emitter's headers replace Symfony's of the same name.
        foreach ($emitter?->headers() ?? [] as $name => $value) {
            foreach (array_keys($headers) as $key) {
                if (strcasecmp($key, $name) === 0) {
                    unset($headers[$key]);
                }
            }
            $headers[$name] = $value;
        }
        return new self($body, $headers, $emitter?->isClosed());
    }

    /** @return list<array{event: string, data: string, id: string}> the dispatched events, in order */
    public function events(): array
    {
        return $this->events;
    }

    /** @return list<array{event: string, data: string, id: string}> the events of one type */
    public function eventsOf(string $event): array
    {
        return array_values(array_filter($this->events, static fn (array $e) => $e['event'] === $event));
    }

    /** The raw bytes written. */
    public function body(): string
    {
        return $this->body;
    }

    /** @return array<string, string> */
    public function headers(): array
    {
        return $this->headers;
    }

    public function header(string $name): ?string
    {
        foreach ($this->headers as $key => $value) {
            if (strcasecmp($key, $name) === 0) {
                return $value;
            }
        }
        return null;
    }

    /** The comment lines (heartbeats included), without the colon and the optional space. */
    public function comments(): array
    {
        $comments = [];
        foreach (preg_split('/\r\n|\r|\n/', $this->body) as $line) {
            if (str_starts_with($line, ':')) {
                $text = substr($line, 1);
                $comments[] = str_starts_with($text, ' ') ? substr($text, 1) : $text;
            }
        }
        return $comments;
    }

    public function retry(): ?int
    {
        return $this->retry;
    }

    public function lastEventId(): string
    {
        return $this->lastEventId;
    }

    public function isClosed(): ?bool
    {
        return $this->closed;
    }

    /**
     * At least one event of this type was sent; with $dataMatches, at least one of them for
     * which $dataMatches(string $data, array $event) returns true.
     */
    public function assertSent(string $event, ?callable $dataMatches = null): self
    {
        $ofType = $this->eventsOf($event);
        if ($dataMatches === null) {
            self::check($ofType !== [], "Expected an event [$event]; the stream sent: {$this->summary()}.");
            return $this;
        }
        $matched = array_filter($ofType, static fn (array $e) => $dataMatches($e['data'], $e) === true);
        self::check(
            $matched !== [],
            "Expected an event [$event] whose data matches the callback; events [$event] sent: "
            . ($ofType === [] ? 'none' : self::quoteData($ofType)) . '.',
        );
        return $this;
    }

    /** An event of this type was sent with exactly this data (JSON for arrays and objects). */
    public function assertSentData(string $event, mixed $data): self
    {
        $expected = is_string($data) ? $data : json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        $ofType = $this->eventsOf($event);
        $found = array_filter($ofType, static fn (array $e) => $e['data'] === $expected);
        self::check(
            $found !== [],
            "Expected an event [$event] with data " . var_export($expected, true) . "; events [$event] sent: "
            . ($ofType === [] ? 'none' : self::quoteData($ofType)) . '.',
        );
        return $this;
    }

    /** Exactly $count events were sent, of any type or of type $event. */
    public function assertSentCount(int $count, ?string $event = null): self
    {
        $actual = count($event === null ? $this->events : $this->eventsOf($event));
        $what = $event === null ? 'events' : "events [$event]";
        self::check($actual === $count, "Expected $count $what; the stream sent $actual: {$this->summary()}.");
        return $this;
    }

    public function assertNotSent(string $event): self
    {
        $count = count($this->eventsOf($event));
        self::check($count === 0, "Expected no event [$event]; the stream sent $count: {$this->summary()}.");
        return $this;
    }

    /** Nothing at all was dispatched. */
    public function assertNothingSent(): self
    {
        self::check($this->events === [], "Expected no events; the stream sent: {$this->summary()}.");
        return $this;
    }

    /** The id a reconnecting EventSource would send back in Last-Event-ID. */
    public function assertLastEventId(string $id): self
    {
        self::check(
            $this->lastEventId === $id,
            'Expected the last event id ' . var_export($id, true) . '; it is ' . var_export($this->lastEventId, true) . '.',
        );
        return $this;
    }

    /** The last valid retry the stream gave, in milliseconds. */
    public function assertRetry(int $milliseconds): self
    {
        self::check(
            $this->retry === $milliseconds,
            "Expected retry: $milliseconds; the stream gave " . ($this->retry === null ? 'none' : "retry: {$this->retry}") . '.',
        );
        return $this;
    }

    /** The header is set (names are case-insensitive), and has this value when one is given. */
    public function assertHeader(string $name, ?string $value = null): self
    {
        $actual = $this->header($name);
        self::check($actual !== null, "Expected a header [$name]; the headers are: {$this->headerSummary()}.");
        if ($value !== null) {
            self::check(
                $actual === $value,
                "Expected header [$name] to be " . var_export($value, true) . '; it is ' . var_export($actual, true) . '.',
            );
        }
        return $this;
    }

    public function assertHeaderMissing(string $name): self
    {
        $actual = $this->header($name);
        self::check($actual === null, "Expected no header [$name]; it is " . var_export($actual, true) . '.');
        return $this;
    }

    /** The stream was ended (close(), maxDuration, or run() returning) rather than left open. */
    public function assertClosed(): self
    {
        self::check($this->closed !== null, 'Cannot tell whether this stream was closed: it was not recorded from an SseEmitter.');
        self::check($this->closed === true, 'Expected the stream to be closed; it was left open.');
        return $this;
    }

    public function assertNotClosed(): self
    {
        self::check($this->closed !== null, 'Cannot tell whether this stream was closed: it was not recorded from an SseEmitter.');
        self::check($this->closed === false, 'Expected the stream to be left open; it was closed.');
        return $this;
    }

    /** Exactly $count comment frames were written (heartbeats are comments). */
    public function assertCommentCount(int $count): self
    {
        $actual = count($this->comments());
        self::check(
            $actual === $count,
            "Expected $count comments; the stream wrote $actual"
            . ($actual === 0 ? '' : ': ' . implode(', ', array_map(static fn (string $c) => self::excerpt($c, 60), array_slice($this->comments(), 0, 20))))
            . '.',
        );
        return $this;
    }

    public function assertBodyContains(string $needle): self
    {
        self::check(
            str_contains($this->body, $needle),
            'Expected the body to contain ' . var_export($needle, true) . '; it is ' . self::excerpt($this->body) . '.',
        );
        return $this;
    }

    public function assertBodyNotContains(string $needle): self
    {
        self::check(
            !str_contains($this->body, $needle),
            'Expected the body not to contain ' . var_export($needle, true) . '; it is ' . self::excerpt($this->body) . '.',
        );
        return $this;
    }

    /**
     * One assertion: counted by PHPUnit when it holds; when it does not, the failure is this
     * message alone, not followed by PHPUnit's "Failed asserting that false is true".
     */
    private static function check(bool $holds, string $message): void
    {
        if (!$holds) {
            Assert::fail($message);
        }
        Assert::assertTrue(true);
    }

    /** The events as `type(data)`, long data cut short: for failure messages. */
    private function summary(): string
    {
        if ($this->events === []) {
            return 'no events';
        }
        $shown = array_slice($this->events, 0, 20);
        $parts = array_map(static fn (array $e) => $e['event'] . '(' . self::excerpt($e['data'], 60) . ')', $shown);
        $more = count($this->events) - count($shown);
        return implode(', ', $parts) . ($more > 0 ? " and $more more" : '');
    }

    private function headerSummary(): string
    {
        if ($this->headers === []) {
            return 'none';
        }
        $parts = [];
        foreach ($this->headers as $name => $value) {
            $parts[] = "$name: $value";
        }
        return implode('; ', $parts);
    }

    /** @param list<array{data: string}> $events */
    private static function quoteData(array $events): string
    {
        return implode(', ', array_map(static fn (array $e) => self::excerpt($e['data'], 60), array_slice($events, 0, 20)));
    }

    private static function excerpt(string $text, int $max = 200): string
    {
        return var_export(strlen($text) > $max ? substr($text, 0, $max) . '...' : $text, true);
    }
}
