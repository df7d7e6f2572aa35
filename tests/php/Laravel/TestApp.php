<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use Illuminate\Contracts\Http\Kernel;
use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use PHPUnit\Framework\Assert;
use Symfony\Component\HttpFoundation\Response;

/**
 * The test app, booted in this process with its own temp storage dir, the way public/index.php
 * boots it for php-fpm: tests/laravel-app (Laravel 8 to 10) or, on Laravel 11 and later,
 * tests/laravel13-app (the same routes, controllers and config in that skeleton).
 */
final class TestApp
{
    /** The routes, channels, controllers and config both skeletons share. */
    public const SHARED = __DIR__ . '/../../laravel-app';

    public readonly Application $app;
    public readonly Kernel $kernel;
    public readonly string $storage;
    /** PHP's handlers before Laravel's HandleExceptions bootstrapper installs its own. */
    private mixed $errorHandler;
    private mixed $exceptionHandler;

    public function __construct()
    {
        $this->errorHandler = self::errorHandler();
        $this->exceptionHandler = self::exceptionHandler();
        $this->storage = sys_get_temp_dir() . '/sse-laravel-test-' . bin2hex(random_bytes(6));
        $_SERVER['SSE_APP_STORAGE'] = $this->storage;
        $this->app = require self::directory() . '/bootstrap/app.php';
        $this->kernel = $this->app->make(Kernel::class);
    }

    /** The app of the installed Laravel's skeleton. */
    public static function directory(): string
    {
        $skeleton = version_compare(Application::VERSION, '11', '>=') ? 'laravel13-app' : 'laravel-app';
        return dirname(__DIR__, 2) . '/' . $skeleton;
    }

    /**
     * Skips the calling test unless Laravel 13 or later is installed; fails instead when
     * SSE_REQUIRE_LARAVEL13 is set (a CI run under the PHP of Debian's Laravel 13), so that a
     * missing Laravel cannot pass for a tested one.
     */
    public static function requireLaravel13(): void
    {
        $installed = class_exists(Application::class) ? 'Laravel ' . Application::VERSION : 'no Laravel';
        if (class_exists(Application::class) && version_compare(Application::VERSION, '13', '>=')) {
            return;
        }
        $reason = "needs Laravel 13 (php-laravel-framework from Debian sid), found $installed";
        if ((string) getenv('SSE_REQUIRE_LARAVEL13') !== '') {
            Assert::fail("$reason, and SSE_REQUIRE_LARAVEL13 is set");
        }
        Assert::markTestSkipped($reason);
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
        // Laravel leaves its handlers installed; PHPUnit 11 reports a test that does as risky.
        for ($i = 0; $i < 10 && self::errorHandler() !== $this->errorHandler; $i++) {
            restore_error_handler();
        }
        for ($i = 0; $i < 10 && self::exceptionHandler() !== $this->exceptionHandler; $i++) {
            restore_exception_handler();
        }
    }

    private static function errorHandler(): mixed
    {
        $current = set_error_handler(static fn (): bool => false);
        restore_error_handler();
        return $current;
    }

    private static function exceptionHandler(): mixed
    {
        $current = set_exception_handler(static function (\Throwable $e): void {
        });
        restore_exception_handler();
        return $current;
    }
}
