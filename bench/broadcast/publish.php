<?php
// The publisher of bench/broadcast/run.py, a CLI process on the same machine as the clients.
//   php publish.php events MECH TARGET N GAP_US PREFIX   N events GAP_US apart, data "PREFIX i T"
//                                                        (T: microtime when publishing began, µs)
//   php publish.php cost MECH TARGET CALLS               CALLS publishes in a loop: µs per call
//   php publish.php replay URL TOPIC N                   N events on TOPIC: the id before them
//   php publish.php end MECH TARGET                      ends the peers' loops: a row `end` for
//                                                        SQLite, CLIENT KILL TYPE pubsub for phpredis
// MECH / TARGET: broker / a broker URL (topic `bench`), pubsub / a Redis port (phpredis
// PUBLISH on channel `bench`), sqlite / a database file (INSERT INTO events).
// Prints one JSON line.
[, $mode, $mech, $target] = $argv + [null, null, null, null];

function cpu(): float
{
    $ru = getrusage();
    return $ru['ru_utime.tv_sec'] + $ru['ru_utime.tv_usec'] / 1e6 + $ru['ru_stime.tv_sec'] + $ru['ru_stime.tv_usec'] / 1e6;
}

function publisher(string $mech, string $target): Closure
{
    switch ($mech) {
        case 'broker':
            $broker = new Sse\Broker($target, ['history' => 20000]);
            return fn (string $data) => $broker->publish('bench', ['event' => 'e', 'data' => $data]);
        case 'pubsub':
            $redis = new Redis();
            $redis->connect('127.0.0.1', (int) $target, 2.0);
            return fn (string $data) => $redis->publish('bench', $data);
        case 'sqlite':
            $db = new PDO('sqlite:' . $target);
            $db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
            $db->exec('PRAGMA busy_timeout = 5000');
            $insert = $db->prepare('INSERT INTO events (data) VALUES (?)');
            return fn (string $data) => $insert->execute([$data]);
    }
    throw new InvalidArgumentException("unknown mechanism $mech");
}

switch ($mode) {
    case 'events':
        [, , , , $n, $gap, $prefix] = $argv;
        $publish = publisher($mech, $target);
        $calls = [];
        $cpu0 = cpu();
        for ($i = 0; $i < (int) $n; $i++) {
            if ($i > 0) {
                usleep((int) $gap);
            }
            $t0 = hrtime(true);
            $publish("$prefix $i " . (int) (microtime(true) * 1e6));
            $calls[] = (hrtime(true) - $t0) / 1e3;
        }
        sort($calls);
        $cpu = cpu() - $cpu0;
        echo json_encode(['events' => count($calls), 'call_p50_us' => $calls[intdiv(count($calls), 2)],
            'call_max_us' => end($calls), 'cpu_s' => $cpu]), "\n";
        break;
    case 'cost':
        $calls = (int) $argv[4];
        $publish = publisher($mech, $target);
        for ($i = 0; $i < 100; $i++) {
            $publish("warm-up $i");
        }
        $t0 = hrtime(true);
        for ($i = 0; $i < $calls; $i++) {
            $publish("cost $i 1700000000000000");
        }
        $ns = hrtime(true) - $t0;
        echo json_encode(['calls' => $calls, 'seconds' => $ns / 1e9, 'us_per_call' => $ns / 1e3 / $calls]), "\n";
        break;
    case 'replay':
        [, , $url, $topic, $n] = $argv;
        $broker = new Sse\Broker($url, ['history' => 20000]);
        $before = $broker->lastEventId();
        $t0 = hrtime(true);
        for ($i = 0; $i < (int) $n; $i++) {
            $last = $broker->publish($topic, ['event' => 'e', 'data' => "replay $i"]);
        }
        echo json_encode(['before' => $before, 'last' => $last, 'publish_s' => (hrtime(true) - $t0) / 1e9]), "\n";
        break;
    case 'end':
        if ($mech === 'pubsub') {
            $redis = new Redis();
            $redis->connect('127.0.0.1', (int) $target, 2.0);
            $redis->rawCommand('CLIENT', 'KILL', 'TYPE', 'pubsub');
        } else {
            publisher($mech, $target)('end');
        }
        echo "{}\n";
        break;
    default:
        fwrite(STDERR, "usage: see the head of this file\n");
        exit(2);
}
