<?php

namespace App\Controller;

use Sse\Broker;
use Sse\MercureHub;
use Symfony\Component\DependencyInjection\Attribute\Autowire;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\Mercure\Authorization;
use Symfony\Component\Mercure\HubInterface;
use Symfony\Component\Mercure\Update;
use Symfony\Component\Routing\Attribute\Route;

/**
 * The Mercure hub of the app (ext-sse's, on the bundle's broker), and what an app does with
 * MercureBundle: publish an Update through a HubInterface, and hand a page the subscriber
 * cookie of the bundle's Authorization helper.
 */
final class MercureController
{
    public function __construct(
        #[Autowire('%mercure_secret%')] private readonly string $secret,
    ) {
    }

    #[Route('/.well-known/mercure', methods: ['GET', 'POST', 'OPTIONS'])]
    public function hub(Broker $broker): Response
    {
        (new MercureHub($broker, ['jwtKey' => $this->secret, 'anonymous' => true]))->serve();
        return new Response(); // the hub answered already: this one is not sent
    }

    /**
     * Publishes ?data= to ?topic= (repeatable as topic[]), private when ?private=1, through the
     * bundle's `default` hub (mercure_publish()) or, with ?via=http, its `http` hub (a POST).
     */
    #[Route('/mercure/publish')]
    public function publish(Request $request, HubInterface $hub, HubInterface $httpHub): JsonResponse
    {
        $topics = $request->query->all()['topic'] ?? 'https://example.com/books/1';
        $update = new Update($topics, (string) $request->query->get('data', ''), $request->query->get('private') === '1', type: $request->query->get('type'));
        $via = $request->query->get('via') === 'http' ? $httpHub : $hub;
        return new JsonResponse(['id' => $via->publish($update), 'hub' => $via::class]);
    }

    /** Sets the mercureAuthorization cookie for ?topic= (the private updates this page may get). */
    #[Route('/mercure/cookie')]
    public function cookie(Request $request, Authorization $authorization): Response
    {
        $authorization->setCookie($request, subscribe: (array) ($request->query->all()['topic'] ?? []));
        return new Response('cookie set');
    }
}
