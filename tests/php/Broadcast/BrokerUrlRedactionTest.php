<?php

declare(strict_types=1);

namespace Sse\Tests\Broadcast;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\Tests\Support\Extension;
use Sse\Tests\Support\PhpServer;

/**
 * A Redis password never shows: not in Sse\Broker::url(), not in a broker's error messages,
 * not in phpinfo() (the module's table and the sse.broker directive's Local and Master Value,
 * as text under the CLI and as HTML under a web SAPI), also when it holds '@' or ':' (URL
 * parsers end the credentials at the last '@' before the host).
 */
final class BrokerUrlRedactionTest extends TestCase
{
    private const MASTER = 'redis://user:m@ster:s3cret@127.0.0.1:1/0';
    private const MASTER_SHOWN = 'redis://user:***@127.0.0.1:1/0';
    private const LOCAL = 'redis://:l0cal@pa:ss@127.0.0.1:1';
    private const LOCAL_SHOWN = 'redis://:***@127.0.0.1:1';
    private const SECRETS = ['m@ster', 's3cret', 'l0cal', 'pa:ss', '@pa'];

    private static function assertNoSecret(string $text, string $what): void
    {
        foreach (self::SECRETS as $secret) {
            self::assertStringNotContainsString($secret, $text, "$what shows part of a password");
        }
    }

    public function testUrlAndErrorMessagesHideAPasswordHoldingAtSigns(): void
    {
        $broker = new Broker(self::MASTER);
        self::assertSame(self::MASTER_SHOWN, $broker->url());
        try {
            $broker->publish('t', 'x');   // nothing listens on port 1
            self::fail('published to a closed port');
        } catch (\Throwable $e) {
            self::assertStringContainsString('127.0.0.1:1', $e->getMessage());
            self::assertNoSecret($e->getMessage(), 'the error message');
        }
        try {
            new Broker('redis:/user:m@ster:s3cret@127.0.0.1:1');
            self::fail('a malformed URL was accepted');
        } catch (\InvalidArgumentException $e) {
            self::assertStringContainsString('not a broker URL', $e->getMessage());
            self::assertNoSecret($e->getMessage(), 'the error message');
        }
    }

    public function testPhpinfoAsTextHidesThePassword(): void
    {
        $code = 'ini_set("sse.broker", ' . var_export(self::LOCAL, true) . '); phpinfo(INFO_MODULES);';
        $output = [];
        exec(implode(' ', array_map('escapeshellarg', Extension::php('-d', 'sse.broker=' . self::MASTER, '-r', $code))), $output, $status);
        $text = implode("\n", $output);
        self::assertSame(0, $status, $text);
        self::assertMatchesRegularExpression('/^sse\.broker => ' . preg_quote(self::LOCAL_SHOWN, '/') . ' => ' . preg_quote(self::MASTER_SHOWN, '/') . '$/m', $text);
        self::assertStringContainsString('broker (sse.broker) => ' . self::LOCAL_SHOWN, $text);
        self::assertNoSecret($text, 'phpinfo()');
    }

    public function testPhpinfoAsHtmlHidesThePassword(): void
    {
        $root = sys_get_temp_dir() . '/sse-phpinfo-' . bin2hex(random_bytes(6));
        mkdir($root, 0700);
        file_put_contents("$root/index.php", '<?php ini_set("sse.broker", ' . var_export(self::LOCAL, true) . '); phpinfo(INFO_MODULES);');
        $server = new PhpServer($root, ini: ['sse.broker' => self::MASTER]);
        try {
            $answer = $server->request('GET', '/');
            self::assertSame(200, $answer->status(), 'php -S answered: ' . $answer->head());
            $html = $answer->body();
            self::assertStringContainsString('<td class="e">sse.broker</td><td class="v">' . self::LOCAL_SHOWN . '</td><td class="v">' . self::MASTER_SHOWN . '</td>', $html);
            self::assertNoSecret($html, 'phpinfo()');
        } finally {
            $server->stop();
            exec('rm -rf ' . escapeshellarg($root));
        }
    }
}
