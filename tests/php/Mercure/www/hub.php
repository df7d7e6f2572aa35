<?php
// The hub as a plain script, configured by the environment of the server that runs it.
declare(strict_types=1);

$options = [
    'jwtKey' => getenv('MERCURE_KEY') ?: null,
    'anonymous' => getenv('MERCURE_ANONYMOUS') === '1',
    'corsOrigins' => getenv('MERCURE_CORS') ?: [],
    'publishOrigins' => getenv('MERCURE_PUBLISH_ORIGINS') ?: [],
    'heartbeat' => (float) (getenv('MERCURE_HEARTBEAT') ?: 40),
];
// Mercure 1.0 (Mercure10TokenTest): the trusted issuer, the resource identifier, the cookie.
foreach (['MERCURE_ISSUER' => 'issuer', 'MERCURE_RESOURCE' => 'resourceIdentifier', 'MERCURE_COOKIE' => 'cookieName'] as $env => $option) {
    if (getenv($env) !== false) {
        $options[$option] = getenv($env);
    }
}
if (getenv('MERCURE_RESET_EVENTS') === '1') {
    $options['resetEvents'] = true;
}
if (getenv('MERCURE_SUBSCRIPTIONS') === '1') {
    $options['subscriptions'] = true;
}
$broker = new Sse\Broker(getenv('MERCURE_BROKER') ?: null);
(new Sse\MercureHub($broker, $options))->serve();
