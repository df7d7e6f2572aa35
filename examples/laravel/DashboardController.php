<?php

declare(strict_types=1);

namespace App\Http\Controllers;

use Examples\Dashboard\Dashboard;
use Sse\SseEmitter;

require_once __DIR__ . '/../dashboard/Dashboard.php';

/**
 * The live dashboard as Laravel routes:
 *
 *   Route::get('/dashboard/', [DashboardController::class, 'page']);
 *   Route::get('/dashboard/stream.php', [DashboardController::class, 'stream']);
 *
 * The page is the same as the plain-PHP one; its EventSource('stream.php') resolves to the
 * stream route next to it.
 */
final class DashboardController
{
    public function page()
    {
        ob_start();
        require __DIR__ . '/../dashboard/index.php';
        return response(ob_get_clean(), 200, ['Content-Type' => 'text/html; charset=utf-8']);
    }

    public function stream()
    {
        return response()->sse(fn (SseEmitter $sse) => Dashboard::serve($sse), Dashboard::OPTIONS);
    }
}
