<?php

declare(strict_types=1);

namespace Sse\Symfony;

use Sse\Broker;
use Sse\Support\Extension;
use Symfony\Component\Config\Definition\Configurator\DefinitionConfigurator;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Bundle\AbstractBundle;
use Symfony\Component\HttpKernel\KernelEvents;

use function Symfony\Component\DependencyInjection\Loader\Configurator\service;

/**
 * The extension in a Symfony app (config/bundles.php: `Sse\Symfony\SseBundle::class => ['all' => true]`):
 *
 * - `sse.broker`, the app's Sse\Broker (autowired as `Sse\Broker $broker`), from the `sse` config:
 *
 *   ```yaml
 *   # config/packages/sse.yaml
 *   sse:
 *       broker:
 *           url: '%env(default::SSE_BROKER)%'   # null (the default): php.ini's sse.broker, 'local' unless set
 *           options: { history: 10000 }         # Sse\Broker options
 *   ```
 *
 *   (`broker: 'redis://127.0.0.1:6379/0'` is short for the url alone). The broker is made on
 *   first use: a bad URL or option, or an unreachable directory, throws then, naming it.
 * - a kernel.response listener that gives EventStreamResponse the app's logger, for failures
 *   while it streams.
 *
 * Without the sse extension, booting fails with the fix in the message, so that every request
 * answers with a 500 that says what to do instead of streams that fail one by one. Console
 * commands boot anyway (cache:clear, Composer scripts: their PHP often lacks the extension).
 */
final class SseBundle extends AbstractBundle
{
    public function configure(DefinitionConfigurator $definition): void
    {
        $definition->rootNode()
            ->children()
                ->arrayNode('broker')
                    ->addDefaultsIfNotSet()
                    ->beforeNormalization()->ifString()->then(static fn (string $url) => ['url' => $url])->end()
                    ->children()
                        ->scalarNode('url')->defaultNull()->info("Sse\\Broker URL: 'local', 'local:///dir', 'redis://host:6379/0', 'memory'; null: php.ini's sse.broker")->end()
                        ->arrayNode('options')->variablePrototype()->end()->info('Sse\Broker options (history, historyAge, publishTimeout)')->end()
                    ->end()
                ->end()
            ->end();
    }

    /** @param array{broker: array{url: ?string, options: array<string, mixed>}} $config */
    public function loadExtension(array $config, ContainerConfigurator $container, ContainerBuilder $builder): void
    {
        $services = $container->services();
        $services->set('sse.broker', Broker::class)
            ->args([$config['broker']['url'], $config['broker']['options']]);
        $services->alias(Broker::class, 'sse.broker')->public();
        $services->set('sse.event_stream_listener', EventStreamListener::class)
            ->args([service('logger')->nullOnInvalid()])
            ->tag('kernel.event_listener', ['event' => KernelEvents::RESPONSE]);
    }

    public function boot(): void
    {
        if (!in_array(PHP_SAPI, ['cli', 'phpdbg'], true)) {
            Extension::require(self::class);
        }
    }

    /** The bundle's own directory: it has no templates or translations to look for elsewhere. */
    public function getPath(): string
    {
        return __DIR__;
    }
}
