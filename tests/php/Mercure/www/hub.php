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
if (getenv('MERCURE_RESET_EVENTS') === '1') {
    $options['resetEvents'] = true;
}
$broker = new Sse\Broker(getenv('MERCURE_BROKER') ?: null);
(new Sse\MercureHub($broker, $options))->serve();
