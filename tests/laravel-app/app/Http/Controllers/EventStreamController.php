<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Illuminate\Http\StreamedEvent;
use Illuminate\Support\Collection;

/**
 * One generator, served by Laravel's own response()->eventStream() (/event-stream/laravel) and
 * by the extension's response()->sseEventStream() (/event-stream/sse), to compare what each
 * writes. Needs Laravel's StreamedEvent (Laravel 13 here).
 */
class EventStreamController
{
    public function laravel(Request $request)
    {
        return response()->eventStream(self::generator($request));
    }

    public function sse(Request $request)
    {
        return response()->sseEventStream(self::generator($request));
    }

    /**
     * What the generator yields: each kind of value eventStream() handles differently.
     *
     * @return list<mixed>
     */
    public static function messages(): array
    {
        return [
            'plain text',
            42,
            1.5,
            ['n' => 1, 'html' => "<b>Tom & Jerry's \"cat\"</b>", 'city' => 'Zürich', 'path' => '/a/b'],
            true,
            null,
            new Collection([1, 2, 3]),
            new StreamedEvent('custom', ['ok' => true]),
            new StreamedEvent('count', 7),
        ];
    }

    /** ?interval seconds (0 to 2, default 0) before each message after the first. */
    private static function generator(Request $request): \Closure
    {
        $interval = max(0.0, min(2.0, (float) $request->query('interval', '0')));
        return static function () use ($interval): \Generator {
            foreach (self::messages() as $i => $message) {
                if ($i > 0 && $interval > 0) {
                    usleep((int) ($interval * 1e6));
                }
                yield $message;
            }
        };
    }
}
