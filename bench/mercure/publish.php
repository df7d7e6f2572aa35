<?php
// php publish.php MODE COUNT GAP_US PORT DIR [TOPIC]: COUNT updates to TOPIC (`bench` by
// default; bench/mercure/run.py's selector mode gives a URL), GAP_US apart,
// each with data `m SEQ MICROS` where MICROS is CLOCK_REALTIME (µs) taken just before the
// publish: MODE `function` calls mercure_publish() on the embedded broker in DIR, MODE `http`
// POSTs to the hub on 127.0.0.1:PORT with a publisher token (a new connection each, as
// symfony/mercure's Hub does without keep-alive), MODE `broker` is the baseline: a plain
// Sse\Broker::publish() of the same data to the broker topic `bench`. Prints one id per update.
[, $mode, $count, $gap, $port, $dir] = $argv;
$topic = $argv[6] ?? 'bench';
ini_set('sse.broker', "local://$dir");
$b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
$head = $b64('{"alg":"HS256","typ":"JWT"}');
$body = $b64('{"mercure":{"publish":["*"]}}');
$token = "$head.$body." . $b64(hash_hmac('sha256', "$head.$body", 'bench-mercure-secret-of-at-least-256-bits!!', true));
for ($i = 0; $i < (int) $count; $i++) {
    $t = (int) round(microtime(true) * 1e6);
    if ($mode === 'function') {
        echo mercure_publish($topic, "m $i $t"), "\n";
    } elseif ($mode === 'broker') {
        echo ($broker ??= new Sse\Broker("local://$dir"))->publish('bench', "m $i $t"), "\n";
    } else {
        $form = 'topic=' . rawurlencode($topic) . '&data=' . rawurlencode("m $i $t");
        $socket = stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 5);
        fwrite($socket, "POST /hub.php HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer $token\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " . strlen($form) . "\r\n\r\n$form");
        $answer = stream_get_contents($socket);
        fclose($socket);
        if (!preg_match("~^HTTP/1\.[01] 200~", $answer)) {
            fwrite(STDERR, "publish refused: $answer\n");
            exit(1);
        }
        echo substr($answer, strpos($answer, "\r\n\r\n") + 4), "\n";
    }
    usleep((int) $gap);
}
