<?php

// Class loading without a vendor directory: Symfony 7.4 from Debian's packages (their
// autoloaders sit on the default include_path, /usr/share/php), the ext-sse package from the
// repository's php/ folder, and this app's App\ classes (src/).

require_once 'Symfony/Bundle/FrameworkBundle/autoload.php';
// Symfony's container asks Composer\InstalledVersions which packages are installed; without a
// vendor dir it knows none, and Symfony then goes by the classes that exist. Debian's composer
// package has the class.
require_once 'Composer/InstalledVersions.php';
// The YAML loader of config/ (php-symfony-yaml: a suggestion of FrameworkBundle's, not a dependency).
require_once 'Symfony/Component/Yaml/autoload.php';
// MercureBundle, when installed: config/bundles.php registers it once config/packages/mercure.yaml exists.
if (stream_resolve_include_path('Symfony/Bundle/MercureBundle/autoload.php') !== false) {
    require_once 'Symfony/Bundle/MercureBundle/autoload.php';
}

spl_autoload_register(static function (string $class): void {
    $map = [
        'App\\' => dirname(__DIR__) . '/src/',
        'Sse\\' => dirname(__DIR__, 3) . '/php/',
    ];
    foreach ($map as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
