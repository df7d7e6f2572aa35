<?php

declare(strict_types=1);

namespace Sse\Tests\Broadcast;

use PHPUnit\Framework\TestCase;
use Sse\EventStreamParser;
use Sse\Tests\Support\Extension;

/**
 * The embedded broker across processes, on the real clock: streams in their own PHP processes,
 * publishers in others, sharing one directory. Every event is counted on every stream.
 */
final class CrossProcessTest extends TestCase
{
    private string $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/sse-cross-' . getmypid() . '-' . bin2hex(random_bytes(3));
    }

    protected function tearDown(): void
    {
        exec('rm -rf ' . escapeshellarg($this->dir));
    }

    /** @return array{0: resource, 1: array<int, resource>} */
    private function php(string $script, string ...$args): array
    {
        $process = proc_open(Extension::php(__DIR__ . "/scripts/$script.php", ...$args), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($process);
        return [$process, $pipes];
    }

    /** @return array<string, array{0: string}> */
    public static function waits(): array
    {
        return ['subscribed first' => ['subscribe-first'], 'waited before subscribing' => ['wait-first']];
    }

    /**
     * A waiting stream is woken by the publish itself, not by the end of its current wait (the
     * PHP thread waits in slices of 100 ms): also when its wait began before it subscribed.
     *
     * @dataProvider waits
     */
    #[\PHPUnit\Framework\Attributes\DataProvider('waits')]
    public function testAWaitingStreamIsWokenByEachPublish(string $order): void
    {
        $url = 'local://' . $this->dir;
        [$process, $pipes] = $this->php('woken', $url, 't', '20', $order);
        self::assertSame("subscribed\n", fgets($pipes[2]));
        $broker = new \Sse\Broker($url);
        stream_set_blocking($pipes[1], false);
        $received = '';
        $delays = [];
        for ($i = 0; $i < 12; $i++) {
            usleep(random_int(20_000, 120_000)); // at any point of the stream's wait
            $publishedAt = hrtime(true);
            $broker->publish('t', ['data' => "e$i"]);
            while (!str_contains($received, "data: e$i\n")) {
                $read = [$pipes[1]];
                $none = null;
                if (stream_select($read, $none, $none, 5) !== 1) {
                    self::fail("e$i never arrived; got: $received");
                }
                $received .= (string) fread($pipes[1], 65536);
            }
            $delays[] = (hrtime(true) - $publishedAt) / 1e6;
        }
        proc_terminate($process);
        proc_close($process);
        sort($delays);
        // Woken by the publish, an event takes about a millisecond; waiting for the end of a
        // 100 ms slice instead, half of them would take 50 ms or more.
        self::assertLessThan(25.0, $delays[6], 'delays (ms): ' . implode(', ', array_map(fn ($d) => round($d, 1), $delays)));
    }

    public function testEveryStreamInEveryProcessGetsEveryEventOnceInOrder(): void
    {
        $url = 'local://' . $this->dir;
        $streams = [];
        foreach (['a', 'a,b', 'b'] as $topics) {
            [$process, $pipes] = $this->php('stream', $url, $topics, '4');
            self::assertSame("subscribed\n", fgets($pipes[2]));
            $streams[$topics] = [$process, $pipes];
        }
        $publishers = [$this->php('publish', $url, 'a', '300', 'from-a'), $this->php('publish', $url, 'b', '300', 'from-b')];
        foreach ($publishers as [$process, $pipes]) {
            self::assertSame('', stream_get_contents($pipes[2]));
            self::assertSame(0, proc_close($process));
        }
        $expected = ['a' => ['from-a' => 300], 'a,b' => ['from-a' => 300, 'from-b' => 300], 'b' => ['from-b' => 300]];
        foreach ($streams as $topics => [$process, $pipes]) {
            $events = EventStreamParser::parse(stream_get_contents($pipes[1]));
            proc_close($process);
            $counts = [];
            $last = [];
            $positions = [];
            foreach ($events as $event) {
                $name = $event['event'];
                $counts[$name] = ($counts[$name] ?? 0) + 1;
                // Each publisher's events arrive in the order they were published...
                self::assertSame(($last[$name] ?? -1) + 1, (int) $event['data'], "$topics: $name out of order");
                $last[$name] = (int) $event['data'];
                $positions[] = (int) explode(':', $event['id'])[1];
            }
            ksort($counts);
            self::assertSame($expected[$topics], $counts, "stream subscribed to $topics");
            // ...and all of them in the one order of the log, each once.
            $sorted = $positions;
            sort($sorted);
            self::assertSame($sorted, $positions);
            self::assertSame(count($positions), count(array_unique($positions)));
        }
    }

    public function testAProcessFollowsTheBrokerAgainAfterItsStreamsEnded(): void
    {
        [$process, $pipes] = $this->php('twice', 'local://' . $this->dir, '1.5', Extension::path());
        $events = EventStreamParser::parse(stream_get_contents($pipes[1]));
        $errors = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($process), $errors);
        self::assertSame(
            ['stream1', 'stream1', 'stream1', 'stream2', 'stream2', 'stream2'],
            array_column($events, 'event'),
        );
    }
}
