<?php

declare(strict_types=1);

namespace Examples\Dashboard;

use Sse\SseEmitter;

/**
 * The live dashboard's stream, shared by the plain-PHP endpoint (stream.php) and the Laravel
 * route (examples/laravel): a stock ticker and a clock.
 *
 * Each event carries an increasing id, so a browser that reconnects (after a network blip, a
 * server restart, or the maxDuration rotation) resumes right after the last event it saw:
 * EventSource sends it back as Last-Event-ID.
 */
final class Dashboard
{
    public const OPTIONS = [
        'retry' => 1000,        // reconnect after 1 s
        'heartbeat' => 15,      // a comment when nothing was sent for 15 s
        'maxDuration' => 300,   // end after 5 minutes; the browser reconnects and resumes
    ];

    private const PRICES = ['ACME' => 120.00, 'GLOBEX' => 54.20, 'INITECH' => 8.75, 'UMBRELLA' => 301.10];

    public static function serve(SseEmitter $sse): void
    {
        $sequence = (int) ($sse->lastEventId() ?? 0);
        $prices = self::PRICES;

        // The current state first, so a page that just connected shows everything at once.
        foreach ($prices as $symbol => $price) {
            $sse->send(['event' => 'stock', 'id' => ++$sequence, 'data' => ['symbol' => $symbol, 'price' => $price, 'change' => 0.0]]);
        }
        $sse->send(['event' => 'clock', 'id' => ++$sequence, 'data' => date('H:i:s')]);

        $sse->every(1.0, function (SseEmitter $sse) use (&$sequence, &$prices): void {
            $symbol = array_rand($prices);
            $previous = $prices[$symbol];
            $prices[$symbol] = max(0.01, round($previous * (1 + random_int(-150, 150) / 10000), 2));
            $sse->send([
                'event' => 'stock',
                'id' => ++$sequence,
                'data' => ['symbol' => $symbol, 'price' => $prices[$symbol], 'change' => round($prices[$symbol] - $previous, 2)],
            ]);
        });

        $sse->every(1.0, function (SseEmitter $sse) use (&$sequence): void {
            $sse->send(['event' => 'clock', 'id' => ++$sequence, 'data' => date('H:i:s')]);
        });

        $sse->run();
    }
}
