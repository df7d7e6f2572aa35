<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use Illuminate\Contracts\Http\Kernel;
use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * The Laravel app of tests/laravel-app, booted in this process with its own temp storage dir,
 * the way public/index.php boots it for php-fpm.
 */
final class TestApp
{
    public readonly Application $app;
    public readonly Kernel $kernel;
    public readonly string $storage;

    public function __construct()
    {
        $this->storage = sys_get_temp_dir() . '/sse-laravel-test-' . bin2hex(random_bytes(6));
        $_SERVER['SSE_APP_STORAGE'] = $this->storage;
        $this->app = require dirname(__DIR__, 2) . '/laravel-app/bootstrap/app.php';
        $this->kernel = $this->app->make(Kernel::class);
    }

    public function get(string $uri, array $server = []): Response
    {
        return $this->kernel->handle(Request::create($uri, 'GET', [], [], [], $server));
    }

    public function log(): string
    {
        $file = $this->storage . '/logs/laravel.log';
        return is_file($file) ? (string) file_get_contents($file) : '';
    }

    public function destroy(): void
    {
        unset($_SERVER['SSE_APP_STORAGE']);
        $this->app->flush();
        (new \Illuminate\Filesystem\Filesystem())->deleteDirectory($this->storage);
    }
}
