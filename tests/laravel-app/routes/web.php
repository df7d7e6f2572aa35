<?php

use App\Http\Controllers\StreamController;
use Illuminate\Support\Facades\Route;

Route::get('/ping', fn () => response('pong', 200, ['Content-Type' => 'text/plain']));
Route::get('/events', [StreamController::class, 'events'])->middleware('stream.cookie');
Route::get('/generator', [StreamController::class, 'generator']);
Route::get('/ticks', [StreamController::class, 'ticks']);
Route::get('/fails', [StreamController::class, 'fails']);
Route::get('/resume', [StreamController::class, 'resume']);
Route::get('/rotate', [StreamController::class, 'rotate']);
Route::get('/reject', [StreamController::class, 'reject']);
Route::get('/hangup', [StreamController::class, 'hangup']);
Route::get('/bad-option', [StreamController::class, 'badOption']);
Route::get('/finish', [StreamController::class, 'finish']);
Route::get('/version', fn () => response(app()->version() . ' ' . basename(base_path()), 200, ['Content-Type' => 'text/plain']));

// Laravel's own eventStream() beside the extension's sseEventStream() (Laravel 13).
Route::get('/event-stream/laravel', [App\Http\Controllers\EventStreamController::class, 'laravel']);
Route::get('/event-stream/sse', [App\Http\Controllers\EventStreamController::class, 'sse']);

// Broadcasting: GET /sse/stream?channels[]=..., with no middleware group (the app has none; the
// X-Test-User guard needs no session). A session app writes Sse\Laravel\Broadcasting::routes().
Sse\Laravel\Broadcasting::routes([]);
Route::group(['as' => 'rotating.'], fn () => Sse\Laravel\Broadcasting::routes([], '/sse/rotating', 'sse-rotating'));
Route::get('/broadcast/news', [App\Http\Controllers\BroadcastController::class, 'news']);
Route::get('/broadcast/order', [App\Http\Controllers\BroadcastController::class, 'order']);

// The live dashboard of examples/laravel, served by this app too.
require_once dirname(__DIR__, 3) . '/examples/laravel/DashboardController.php';
Route::get('/dashboard/', [App\Http\Controllers\DashboardController::class, 'page']);
Route::get('/dashboard/stream.php', [App\Http\Controllers\DashboardController::class, 'stream']);
