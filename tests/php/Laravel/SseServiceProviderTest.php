<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use Illuminate\Routing\ResponseFactory;
use PHPUnit\Framework\TestCase;
use Sse\Laravel\SseResponse;
use Sse\Laravel\SseServiceProvider;
use Sse\SseEmitter;
use Sse\Testing\RecordedStream;

/** The provider adds response()->sse() when Laravel boots it. */
final class SseServiceProviderTest extends TestCase
{
    private ?TestApp $laravel = null;

    protected function setUp(): void
    {
        if (!class_exists(\Illuminate\Foundation\Application::class)) {
            self::markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
    }

    protected function tearDown(): void
    {
        $this->laravel?->destroy();
    }

    public function testBootingTheProviderAddsTheMacro(): void
    {
        ResponseFactory::flushMacros();
        self::assertFalse(ResponseFactory::hasMacro('sse'));
        $this->laravel = new TestApp();
        $this->laravel->kernel->bootstrap();
        self::assertContains(SseServiceProvider::class, array_keys($this->laravel->app->getLoadedProviders()));
        self::assertTrue(ResponseFactory::hasMacro('sse'));
    }

    public function testTheMacroBuildsAnSseResponseFromItsThreeArguments(): void
    {
        $this->laravel = new TestApp();
        $this->laravel->kernel->bootstrap();
        // The response factory's URL generator wants the current request, as in a real one.
        $this->laravel->app->instance('request', \Illuminate\Http\Request::create('/'));
        $response = response()->sse(
            static fn (SseEmitter $sse) => $sse->send(['event' => 'hi', 'data' => 'there']),
            ['retry' => 700],
            ['X-Extra' => '1'],
        );
        self::assertInstanceOf(SseResponse::class, $response);
        RecordedStream::fromResponse($response)
            ->assertHeader('X-Extra', '1')
            ->assertRetry(700)
            ->assertSentData('hi', 'there');
    }
}
