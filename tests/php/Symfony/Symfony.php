<?php

declare(strict_types=1);

namespace Sse\Tests\Symfony;

use PHPUnit\Framework\Assert;
use Symfony\Component\HttpKernel\Kernel;

/**
 * Symfony 7.4 for the tests of php/Symfony: Debian sid's packages (php-symfony-framework-bundle
 * and what it needs), loaded through the test app's autoloader (tests/symfony-app).
 */
final class Symfony
{
    public const APP = __DIR__ . '/../../symfony-app';

    /**
     * Skips the calling test unless Symfony 7.4 or later is installed; fails instead when
     * SSE_REQUIRE_SYMFONY is set (the CI run under the PHP of Debian's Symfony 7.4), so that a
     * missing Symfony cannot pass for a tested one.
     */
    public static function require(): void
    {
        $found = self::load();
        if ($found === null) {
            return;
        }
        $reason = "needs Symfony 7.4 (php-symfony-framework-bundle from Debian sid), found $found";
        if ((string) getenv('SSE_REQUIRE_SYMFONY') !== '') {
            Assert::fail("$reason, and SSE_REQUIRE_SYMFONY is set");
        }
        Assert::markTestSkipped($reason);
    }

    /** Loads Symfony once; null when it is 7.4 or later, else what was found instead. */
    private static function load(): ?string
    {
        static $found = false;
        if ($found !== false) {
            return $found;
        }
        if (stream_resolve_include_path('Symfony/Bundle/FrameworkBundle/autoload.php') === false) {
            $kernel = class_exists(Kernel::class) ? 'HttpKernel ' . Kernel::VERSION . ' and ' : '';
            return $found = $kernel . 'no FrameworkBundle';
        }
        require_once self::APP . '/bootstrap/autoload.php';
        if (version_compare(Kernel::VERSION, '7.4', '<')) {
            return $found = 'Symfony ' . Kernel::VERSION;
        }
        return $found = null;
    }
}
