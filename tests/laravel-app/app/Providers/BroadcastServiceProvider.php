<?php

namespace App\Providers;

use Illuminate\Support\ServiceProvider;

/** The app's channel authorization callbacks, as a Laravel app loads them. */
class BroadcastServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        require base_path('routes/channels.php');
    }
}
