<?php

namespace App\Providers;

use Illuminate\Foundation\Support\Providers\RouteServiceProvider as ServiceProvider;
use Illuminate\Support\Facades\Route;

class RouteServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        // No 'web' group: sessions and CSRF are not what these tests are about.
        $this->routes(fn () => Route::group([], base_path('routes/web.php')));
    }
}
