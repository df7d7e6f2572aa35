<?php

declare(strict_types=1);

namespace Sse\Symfony;

use Psr\Log\LoggerInterface;
use Symfony\Component\HttpKernel\Event\ResponseEvent;

/**
 * Hands the app's logger to every EventStreamResponse a controller returns (kernel.response),
 * so that an exception thrown while it streams, after the kernel's own error handling is over,
 * is logged like any other instead of ending the request as an uncaught error.
 *
 * @internal registered by SseBundle
 */
final class EventStreamListener
{
    public function __construct(private readonly ?LoggerInterface $logger = null)
    {
    }

    public function __invoke(ResponseEvent $event): void
    {
        $response = $event->getResponse();
        if ($this->logger !== null && $response instanceof EventStreamResponse) {
            $response->setLogger($this->logger);
        }
    }
}
