<?php

/**
 * Stubs for the `sse` extension (ext-sse): Server-Sent Events in native code.
 *
 * These declarations are for IDEs and static analysis only; the classes are provided by the
 * extension (`extension=sse.so`). A test compares them with the loaded extension's Reflection.
 */

namespace Sse;

/** Misuse of the API, e.g. a send after close() or a stream that cannot start. */
class SseException extends \RuntimeException
{
}

/** An event field that cannot be framed safely. The message names the field and the reason. */
class InvalidEventException extends \InvalidArgumentException
{
}

/**
 * One event, framed exactly as the HTML Server-Sent Events spec reads it. Drop-in for
 * Workerman's `ServerSentEvents`: for input Workerman accepts, the bytes are the same.
 *
 * ```php
 * echo new ServerSentEvents(['event' => 'ping', 'data' => 'some thing', 'id' => 1000]);
 * // event: ping\nid: 1000\ndata: some thing\n\n
 * ```
 */
final class ServerSentEvents implements \Stringable, \JsonSerializable
{
    /**
     * @param array{event?: ?string, data?: mixed, id?: string|int|null, retry?: int|string|null, comment?: ?string, ''?: ?string} $fields
     *        `''` is Workerman's name for `comment`. Absent or null keys are left out; `0`, `'0'`
     *        and `''` are values. `data` may be a string, int, float, or an array, object or
     *        JsonSerializable (encoded as compact JSON with unescaped slashes and Unicode).
     * @throws InvalidEventException for an unknown key, a line break in `event` or `id`, a NUL
     *         in `id`, a `retry` that is not a non-negative integer, invalid UTF-8 in any field,
     *         or data that json_encode() cannot encode.
     */
    public function __construct(array $fields) {}

    /** A data event, optionally named and with an id. */
    public static function message(mixed $data, ?string $event = null, string|int|null $id = null): ServerSentEvents {}

    /** A comment-only frame (`: text`), e.g. a heartbeat. */
    public static function comment(?string $text = null): ServerSentEvents {}

    /** The event type, or null when the frame has none (the client then uses "message"). */
    public function getEvent(): ?string {}

    /** The data as written on the wire (JSON for arrays and objects), or null. */
    public function getData(): ?string {}

    public function getId(): ?string {}

    /** The reconnection time in milliseconds, or null. */
    public function getRetry(): ?int {}

    public function getComment(): ?string {}

    /**
     * The normalized fields that are present, in wire order.
     * @return array{comment?: string, event?: string, id?: string, retry?: int, data?: string}
     */
    public function toArray(): array {}

    /** Same as toArray(). */
    public function jsonSerialize(): array {}

    /** The wire frame, ending with the empty line that dispatches the event. */
    public function __toString(): string {}
}

/**
 * The client side of an event stream: the WHATWG "interpreting an event stream" algorithm.
 * For tests and tools.
 */
final class EventStreamParser
{
    public function __construct() {}

    /**
     * Feeds a chunk (it may end anywhere) and returns the events it completed.
     * @return list<array{event: string, data: string, id: string}>
     */
    public function feed(string $chunk): array {}

    /**
     * Parses a whole stream. A final event not followed by an empty line is not dispatched.
     * @return list<array{event: string, data: string, id: string}>
     */
    public static function parse(string $stream): array {}

    /** The last valid `retry` seen, in milliseconds, or null. */
    public function retry(): ?int {}

    /** The last event id string, as EventSource would send it in Last-Event-ID. */
    public function lastEventId(): string {}
}

/**
 * Streams Server-Sent Events from a PHP request: sets the headers, bypasses every output
 * buffer, flushes each event to the client at once, notices when the client is gone, and runs
 * timers and heartbeats from a background runtime without a busy loop.
 *
 * ```php
 * $sse = new Sse\SseEmitter(['retry' => 2000]);
 * $sse->every(1.0, fn (Sse\SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => time()]));
 * $sse->run();
 * ```
 *
 * Under the CLI SAPI (PHPUnit) it sends no headers and leaves output buffers alone, so frames
 * can be captured with ob_start(); headers() tells what would have been sent.
 */
final class SseEmitter
{
    /**
     * @param array{
     *   retry?: int,
     *   heartbeat?: float,
     *   maxDuration?: float,
     *   headers?: array<string, string>,
     *   cors?: ?string,
     *   status?: int,
     *   clock?: 'real'|'virtual',
     *   keepTimeLimit?: bool,
     * } $options
     *   - retry: reconnection time in ms sent once at start (default: none).
     *   - heartbeat: seconds of silence after which a comment frame is written (default 15; 0 = off).
     *   - maxDuration: seconds after which run() ends the stream, sending `retry` first (default 0 = none).
     *   - headers: extra or replacing response headers (the caller wins over the defaults).
     *   - cors: value of Access-Control-Allow-Origin (default: not sent).
     *   - status: HTTP status (default 200).
     *   - clock: 'virtual' makes every wait return at once with time advanced (for tests).
     *   - keepTimeLimit: keep PHP's max_execution_time for the stream (default false: lifted).
     * @throws \InvalidArgumentException for an unknown option or a bad value.
     */
    public function __construct(?array $options = null) {}

    /**
     * Sends the headers and switches the request to streaming. Idempotent; implied by the first
     * send. Output buffered before it is discarded (with a notice giving the byte count). Under
     * an HTTP SAPI the stream opens with a comment frame (`: `), so that proxies pass the
     * response head at once; then the `retry` frame, if configured.
     * @throws SseException when output already started and the stream cannot be an event stream.
     */
    public function start(): SseEmitter {}

    /**
     * Writes one event and flushes it to the client now.
     * @param ServerSentEvents|array|string|\Illuminate\Http\StreamedEvent $event an event, its fields,
     *   data only, or Laravel's StreamedEvent (its data written as response()->eventStream() writes it).
     * @return bool false once the client is gone.
     * @throws InvalidEventException for a bad event (nothing is written).
     * @throws SseException after close().
     */
    public function send(ServerSentEvents|array|string|\Illuminate\Http\StreamedEvent $event): bool {}

    /** Writes a comment frame (`: text`); false once the client is gone. */
    public function comment(?string $text = null): bool {}

    /** Whether the client is still there (checked on the socket where the SAPI allows it). */
    public function isConnected(): bool {}

    public function isStarted(): bool {}

    public function isClosed(): bool {}

    /** Flushes and ends the stream; runs the onClose callbacks. Later sends throw. */
    public function close(): void {}

    /**
     * Ends a complete stream so that the browser stops: sends a last event of type `end` with id
     * `sse-end` and $data (empty when null), then closes. The page closes its EventSource on
     * `end`; a client that reconnects anyway sends `Last-Event-ID: sse-end` and gets 204.
     * @return bool false when the client was already gone.
     * @throws InvalidEventException for bad data (nothing is written).
     * @throws SseException after close().
     */
    public function finish(mixed $data = null): bool {}

    /** A started stream dropped without close() ends here: its onClose callbacks run. */
    public function __destruct() {}

    /**
     * The id the reconnecting client last received: the Last-Event-ID header, else the
     * `lastEventId` query parameter; null when absent or not acceptable (not UTF-8, a line
     * break or NUL, longer than 1 KiB).
     */
    public function lastEventId(): ?string {}

    /**
     * Answers an EventSource so that it stops reconnecting (204 by default, no body).
     * @param array<string, string> $headers
     */
    public static function reject(int $status = 204, ?array $headers = null): void {}

    /**
     * The response headers this stream sets (or would set under the CLI).
     * @return array<string, string>
     */
    public function headers(): array {}

    /**
     * Calls $callback($emitter) every $seconds (at least 0.001) while run() or sleep() waits.
     * @return int the timer id, for cancel().
     */
    public function every(float $seconds, callable $callback): int {}

    /** Calls $callback($emitter) once after $seconds. @return int the timer id. */
    public function after(float $seconds, callable $callback): int {}

    /** Cancels a timer; unknown ids are ignored. */
    public function cancel(int $id): void {}

    /**
     * Registers a callback run once when the stream ends: close(), the client gone,
     * maxDuration, an exception from a callback, exit(), or the emitter dropped at the end of
     * the script. Not after a fatal error (PHP runs no user code then).
     */
    public function onClose(callable $callback): SseEmitter {}

    /**
     * From now on, run() and sleep() write every event published to $topics, in publish
     * order, each with the broker's id as `id:`. A client that reconnects with a Last-Event-ID
     * this broker issued first gets exactly the events it missed, then live ones; a
     * Last-Event-ID the broker cannot resume from (older than its history, another broker's,
     * or made up) gets one `sse-reset` event first (data: {"reason": "history-lost"} or
     * {"reason": "unknown-id"}). One call per stream, with every topic.
     *
     * @param string|string[] $topics
     * @param Broker|null $broker null: the broker of the sse.broker ini setting (default local)
     * @throws SseException the stream is closed or already subscribed, or the broker is unavailable
     * @throws \InvalidArgumentException a topic name is not valid
     */
    public function subscribe(string|array $topics, ?Broker $broker = null): SseEmitter {}

    /** Whether subscribe() was called on this stream (false again once it is detached). */
    public function isSubscribed(): bool {}

    /**
     * Hands the stream to the native runtime and frees the worker. Under php-fpm the runtime
     * serves it from now on (the events of its subscription, heartbeats, maxDuration with its
     * retry, hang-ups) and this returns true: end the script, the worker takes its next
     * request. Elsewhere (php -S, Apache mod_php, the CLI, a kept-alive FastCGI connection)
     * the stream is served here as run() would, and this returns false once it has ended.
     *
     * @throws SseException the stream has PHP timers or onClose callbacks (a detached stream
     *   runs no PHP code), or it is closed
     */
    public function detach(): bool {}

    /**
     * This process's detached streams.
     * @return array{streams: int, events: int, bytesQueued: int, slowClientCloses: int, hangUps: int}
     */
    public static function detachedStats(): array {}

    /**
     * Serves the stream until it ends: dispatches timers, writes heartbeats, watches for the
     * client leaving and honours maxDuration. An exception from a callback ends the stream and
     * is rethrown.
     */
    public function run(): void {}

    /**
     * Waits $seconds while dispatching timers and heartbeats.
     * @return bool false as soon as the client is gone (or the stream ended).
     */
    public function sleep(float $seconds): bool {}

    /** Seconds since the emitter was created, on its clock (virtual or real). */
    public function elapsed(): float {}
}

/**
 * A broker: publish an event once, from any request or script (php-fpm, Apache, php -S, a queue
 * worker, cron, php -r), and every stream subscribed to its topics writes it, in this process,
 * other processes, or, with Redis, other machines.
 *
 * URLs: `local` (the embedded broker in /dev/shm/ext-sse), `local:///absolute/dir`, `memory`
 * (this process only, for unit tests), `redis://[user:password@]host[:port][/db]` and
 * `redis-cluster://[user:password@]host:port[,host:port...]` (seed nodes); a Redis URL may end in
 * `?log=<name>`, a log of its own in the same Redis (on a cluster, in a slot of its own).
 *
 * ```php
 * $broker = new Sse\Broker();                          // sse.broker, default 'local'
 * $broker->publish('orders', ['event' => 'shipped', 'data' => ['id' => 42]]);
 *
 * $sse = new Sse\SseEmitter(['retry' => 2000]);
 * $sse->subscribe('orders', $broker)->run();          // resumes from Last-Event-ID
 * ```
 */
final class Broker
{
    /**
     * @param string|null $url null: the sse.broker ini setting (default `local`)
     * @param array{history?: int, historyAge?: int|float, publishTimeout?: int|float} $options
     *   history: events kept for clients that reconnect (default 10000);
     *   historyAge: seconds an event is kept (default 3600);
     *   publishTimeout: seconds a publish may take, connecting included (default 2).
     * @throws \InvalidArgumentException a bad URL or option
     * @throws SseException the broker's directory cannot be created or written
     */
    public function __construct(?string $url = null, ?array $options = null) {}

    /**
     * Frames and stores the event once and returns the id the broker gave it. The event must
     * not have an id of its own.
     *
     * @param string|string[] $topics
     * @throws InvalidEventException a bad event, or one with an id
     * @throws SseException the broker is unreachable (nothing was published)
     * @throws \InvalidArgumentException a topic name is not valid
     */
    public function publish(string|array $topics, ServerSentEvents|array|string|\Illuminate\Http\StreamedEvent $event): string {}

    /** The URL of this broker, a Redis password shown as `***`. */
    public function url(): string {}

    /** The id of the newest event: a client resuming from it gets only what is published next. */
    public function lastEventId(): string {}
}

/**
 * A Mercure hub (draft-dunglas-mercure-07, as the Go hub v0.24 implements it, and Mercure 1.0's
 * access tokens beside it) served by the current request, on any broker: one machine with the
 * embedded broker, many with Redis.
 *
 * ```php
 * // public/.well-known/mercure/index.php (or a route of your framework); route
 * // /.well-known/oauth-protected-resource/.well-known/mercure to it too (Mercure 1.0 discovery)
 * (new Sse\MercureHub(null, ['publisherJwtKey' => $key, 'subscriberJwtKey' => $key, 'issuer' => 'https://auth.example.com']))->serve();
 * ```
 *
 * Tokens of both drafts on one hub: an RFC 9068 access token (header `typ: at+jwt`, or any
 * token carrying `authorization_details`) is judged by Mercure 1.0's rules (`iss` the
 * `issuer` option, `aud` containing the resource identifier, `exp` required, grants in
 * `authorization_details` of type https://mercure.rocks/authorization-detail) and is read
 * from the Authorization header or the `cookieName` cookie only; any other token by
 * draft-07's (the `mercure` claim; also from the `authorization` query parameter and the
 * `mercureAuthorization` cookie).
 *
 * The global function `mercure_publish()` (stubs/mercure.stub.php) publishes without HTTP.
 */
final class MercureHub
{
    /**
     * @param Broker|null $broker null: the broker of the sse.broker ini setting
     * @param array{publisherJwtKey?: string, subscriberJwtKey?: string, jwtKey?: string, jwtAlgorithm?: string,
     *   publisherJwtAlgorithm?: string, subscriberJwtAlgorithm?: string, issuer?: string,
     *   resourceIdentifier?: string, cookieName?: string, anonymous?: bool,
     *   corsOrigins?: string[]|string, publishOrigins?: string[]|string, heartbeat?: int|float,
     *   resetEvents?: bool, subscriptions?: bool} $options
     *   publisherJwtKey / subscriberJwtKey: the HMAC secret, or the PEM public key for RS*, PS*
     *   and ES* (jwtKey: both); no publisher key: no publishes over HTTP;
     *   jwtAlgorithm: HS256 (default), HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512,
     *   ES256, ES384 (publisherJwtAlgorithm / subscriberJwtAlgorithm: one side only);
     *   issuer: the `iss` the keys above are trusted for; a Mercure 1.0 access token must name
     *   it (default none: no access token is accepted, draft-07 tokens only);
     *   resourceIdentifier: what an access token's `aud` must contain, and the metadata's
     *   `resource`: an absolute http(s) URL (default: the request's
     *   scheme://host/.well-known/mercure; set it behind a proxy that terminates TLS);
     *   cookieName: the cookie a Mercure 1.0 browser sends its token in (default
     *   `__Secure-mercure_access_token`);
     *   anonymous: subscribers without a token get public updates (default false);
     *   corsOrigins: origins whose pages may subscribe and publish with credentials ('*': any);
     *   publishOrigins: origins a cookie-authenticated publish may come from;
     *   heartbeat: seconds of silence before a heartbeat comment (default 40, 0: none);
     *   resetEvents: an `sse-reset` event first when a subscriber cannot resume (default false);
     *   subscriptions: Mercure 1.0's active subscriptions: subscription events and the
     *   subscription API under /.well-known/mercure/subscriptions, across every worker and
     *   every machine on the broker (default false).
     * @throws \InvalidArgumentException a bad option, named in the message
     */
    public function __construct(?Broker $broker = null, ?array $options = null) {}

    /**
     * Handles the current request as the hub: GET subscribes (a detached stream under
     * php-fpm), POST publishes (200 text/plain with the id), OPTIONS answers CORS preflights;
     * a refusal is a 4xx with its reason as text/plain. A request whose path is
     * `/.well-known/oauth-protected-resource/.well-known/mercure` gets the RFC 9728 metadata
     * document (application/json) of a hub with a key. A Mercure 1.0 request (an access token,
     * or `match*` subscribe parameters) is refused with RFC 6750 challenges
     * (`WWW-Authenticate: Bearer error=..., resource_metadata=...`): 401 without a token, 401
     * `invalid_token` (no reason given), 403 `insufficient_scope`, 400 `invalid_request`.
     */
    public function serve(): void {}

    /** Adds `Link: <$url>; rel="mercure"` to the response and returns the header's value. */
    public static function discover(string $url = '/.well-known/mercure'): string {}
}
