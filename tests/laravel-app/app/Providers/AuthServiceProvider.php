<?php

namespace App\Providers;

use Illuminate\Auth\GenericUser;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\ServiceProvider;

/**
 * The test app's users: ids 1 to 9, named by the X-Test-User request header (no database).
 * Enough for Broadcast::channel() callbacks to see a real $user through Laravel's auth.
 */
class AuthServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        Auth::viaRequest('test-header', static function (Request $request): ?GenericUser {
            $id = $request->header('X-Test-User');
            if (!is_string($id) || preg_match('/^[1-9]$/', $id) !== 1) {
                return null;
            }
            return new GenericUser(['id' => (int) $id, 'name' => "user $id"]);
        });
    }
}
