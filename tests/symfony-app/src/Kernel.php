<?php

namespace App;

use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;

/**
 * The test app's kernel: config/ as a Symfony skeleton lays it out (bundles.php, packages/,
 * services.yaml, routes.yaml). Its cache and logs go to the SSE_APP_STORAGE directory (a
 * FastCGI param the stack tests set, a temp dir in PHPUnit), so the checkout stays clean and
 * the tests can read var/log/app.log.
 */
class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    public function getProjectDir(): string
    {
        return dirname(__DIR__);
    }

    public function getCacheDir(): string
    {
        return $this->storage() . '/cache/' . $this->environment;
    }

    /** Made here: Symfony's minimal logger (config/services.yaml) opens app.log in it, and does not create it. */
    public function getLogDir(): string
    {
        $dir = $this->storage() . '/log';
        if (!is_dir($dir) && !mkdir($dir, 0777, true) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create the log directory $dir");
        }
        return $dir;
    }

    private function storage(): string
    {
        $storage = $_SERVER['SSE_APP_STORAGE'] ?? getenv('SSE_APP_STORAGE');
        return is_string($storage) && $storage !== '' ? $storage : sys_get_temp_dir() . '/sse-symfony-app';
    }
}
