<?php
// A Mercure hub for clients of both drafts, set up as the Go hub's conformance suite sets up its
// own (one key for both roles, anonymous, its issuer and resource identifier), as the front
// controller: nginx hands it /.well-known/mercure and the RFC 9728 metadata path
// (/.well-known/oauth-protected-resource/.well-known/mercure) alike.
(new Sse\MercureHub(null, [
    'publisherJwtKey' => '!ChangeThisMercureHubJWTSecretKey!',
    'subscriberJwtKey' => '!ChangeThisMercureHubJWTSecretKey!',
    'anonymous' => true,
    'issuer' => 'https://localhost',
    'resourceIdentifier' => 'https://localhost/.well-known/mercure',
    'heartbeat' => 5,
]))->serve();
