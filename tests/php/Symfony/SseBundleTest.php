<?php

declare(strict_types=1);

namespace Sse\Tests\Symfony;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\Symfony\EventStreamListener;
use Sse\Symfony\SseBundle;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\HttpKernel\KernelEvents;

/** SseBundle's configuration and services, loaded into a container of their own. */
final class SseBundleTest extends TestCase
{
    protected function setUp(): void
    {
        Symfony::require();
    }

    /** @param list<array<string, mixed>> $configs the `sse:` sections, as config files give them */
    private static function container(array $configs): ContainerBuilder
    {
        $container = new ContainerBuilder();
        $container->setParameter('kernel.environment', 'test');
        $container->setParameter('kernel.build_dir', sys_get_temp_dir());
        $container->setParameter('kernel.debug', false);
        (new SseBundle())->getContainerExtension()->load($configs, $container);
        return $container;
    }

    public function testWithoutConfigTheBrokerIsPhpIniDefault(): void
    {
        $definition = self::container([])->getDefinition('sse.broker');

        self::assertSame(Broker::class, $definition->getClass());
        self::assertSame([null, []], $definition->getArguments());
    }

    public function testAStringIsTheBrokersUrlAndOptionsArePassedOn(): void
    {
        $short = self::container([['broker' => 'redis://127.0.0.1:6379/0']])->getDefinition('sse.broker');
        self::assertSame(['redis://127.0.0.1:6379/0', []], $short->getArguments());

        $full = self::container([['broker' => ['url' => 'memory', 'options' => ['history' => 50]]]]);
        self::assertSame(['memory', ['history' => 50]], $full->getDefinition('sse.broker')->getArguments());
        $full->compile();
        $broker = $full->get(Broker::class);
        self::assertInstanceOf(Broker::class, $broker, 'autowired by its class');
        self::assertSame('memory', $broker->url());
    }

    public function testABadBrokerOptionThrowsWhenTheBrokerIsMadeNamingIt(): void
    {
        $container = self::container([['broker' => ['url' => 'memory', 'options' => ['histroy' => 50]]]]);
        $container->compile();

        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('histroy');
        $container->get(Broker::class);
    }

    public function testTheListenerThatHandsOverTheLoggerListensToKernelResponse(): void
    {
        $definition = self::container([])->getDefinition('sse.event_stream_listener');

        self::assertSame(EventStreamListener::class, $definition->getClass());
        self::assertSame([['event' => KernelEvents::RESPONSE]], $definition->getTag('kernel.event_listener'));
    }
}
