<?php
// What a Laravel 13 app with Mercure broadcasting answers, played from the protocol (Debian has
// neither Laravel's Mercure driver nor Echo's connector): the front controller of nginx.
//   POST /broadcasting/auth  the batch authorization: one cookie holding a Mercure 1.0 access
//                            token with a grant per channel (private topics; presence channels
//                            with the member's payload and the subscription-events pattern;
//                            whisper topics to publish and subscribe), as Laravel's driver does
//   /.well-known/mercure...  the hub, with active subscriptions (Sse\MercureHub)
const KEY = 'stack-test-secret-of-at-least-256-bits!';
const ISSUER = 'https://laravel.example.test';

$origin = (($_SERVER['HTTPS'] ?? '') === 'on' ? 'https' : 'http') . '://' . $_SERVER['HTTP_HOST'];
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);

if ($path === '/broadcasting/auth') {
    $request = json_decode(file_get_contents('php://input'), true) ?: [];
    $user = (string) ($request['user'] ?? 'guest');
    $allowed = ['ada' => ['presence-chat.1', 'private-orders.ada'], 'bob' => ['presence-chat.1'], 'eve' => ['presence-chat.2']];
    $details = [];
    foreach ($request['channels'] ?? [] as $channel) {
        if (!in_array($channel, $allowed[$user] ?? [], true)) {
            continue; // not this user's: no grant (Laravel answers 403 for it)
        }
        $grant = fn (array $actions, array $topics, $payload = null) => array_filter([
            'type' => 'https://mercure.rocks/authorization-detail', 'actions' => $actions, 'topics' => $topics, 'payload' => $payload,
        ], fn ($v) => $v !== null);
        $details[] = $grant(['subscribe'], [['match' => $channel, 'match_type' => 'exact']]);
        if (str_starts_with($channel, 'presence-')) {
            $details[] = $grant(['subscribe'], [[
                'match' => "/.well-known/mercure/subscriptions/:match_type/$channel{/:subscriber}?", 'match_type' => 'urlpattern',
            ]], ['id' => $user, 'name' => ucfirst($user)]);
            $details[] = $grant(['publish', 'subscribe'], [['match' => "$channel/whisper", 'match_type' => 'exact']]);
        }
    }
    $b64 = fn (string $s) => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
    $head = $b64(json_encode(['alg' => 'HS256', 'typ' => 'at+jwt']));
    $body = $b64(json_encode([
        'iss' => ISSUER, 'aud' => "$origin/.well-known/mercure", 'sub' => $user, 'exp' => time() + 3600,
        'authorization_details' => $details,
    ]));
    $jwt = "$head.$body." . $b64(hash_hmac('sha256', "$head.$body", KEY, true));
    setcookie('__Secure-mercure_access_token', $jwt, [
        'path' => '/.well-known/mercure', 'secure' => true, 'httponly' => true, 'samesite' => 'Strict',
    ]);
    header('Content-Type: application/json');
    echo json_encode(['channels' => count($details)]);
    return;
}

(new Sse\MercureHub(null, [
    'jwtKey' => KEY,
    'issuer' => ISSUER,
    'subscriptions' => true,
    'publishOrigins' => [$origin],   // whispers come from the app's own pages, with the cookie
    'heartbeat' => 5,
]))->serve();
