<?php

use App\Http\Controllers\StreamController;
use Illuminate\Support\Facades\Route;

Route::get('/ping', fn () => response('pong', 200, ['Content-Type' => 'text/plain']));
Route::get('/events', [StreamController::class, 'events'])->middleware('stream.cookie');
Route::get('/generator', [StreamController::class, 'generator']);
Route::get('/ticks', [StreamController::class, 'ticks']);
Route::get('/fails', [StreamController::class, 'fails']);
Route::get('/resume', [StreamController::class, 'resume']);
