<?php

declare(strict_types=1);

namespace Sse\Tests\Stubs;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\Extension;

/**
 * stubs/sse.stub.php and stubs/mercure.stub.php must declare exactly what the extension
 * provides: the same classes, parents, interfaces, constants, methods, functions, parameters
 * (names, types, defaults) and return types. Reflection of the loaded extension is compared with Reflection of the stubs loaded in
 * a PHP without the extension.
 *
 * One deliberate difference is allowed: where the extension can only declare `mixed` (a
 * callable or a union the binding layer cannot express), the stub gives the precise type.
 */
final class StubsMatchExtensionTest extends TestCase
{
    private const ROOT = __DIR__ . '/../../..';

    public function testStubsDescribeTheLoadedExtension(): void
    {
        $script = __DIR__ . '/describe.php';
        self::assertFileExists(Extension::path());
        $extension = $this->describe(Extension::php($script));
        $stubs = $this->describe([PHP_BINARY, '-n', $script, self::ROOT . '/stubs/sse.stub.php', self::ROOT . '/stubs/mercure.stub.php']);

        self::assertSame(array_keys($extension), array_keys($stubs), 'the stubs declare other classes than the extension');
        foreach ($extension as $class => $described) {
            $stub = $stubs[$class];
            if (str_starts_with($class, 'function ')) {
                foreach ($described['parameters'] as $i => $parameter) {
                    if ($parameter['type'] === 'mixed' && isset($stub['parameters'][$i]['type'])) {
                        $stub['parameters'][$i]['type'] = 'mixed';
                    }
                }
                self::assertSame($described, $stub, "the stubs differ from the extension for $class()");
                continue;
            }
            foreach ($described['methods'] as $method => $signature) {
                foreach ($signature['parameters'] as $i => $parameter) {
                    if ($parameter['type'] === 'mixed' && isset($stub['methods'][$method]['parameters'][$i]['type'])) {
                        $stub['methods'][$method]['parameters'][$i]['type'] = 'mixed';
                    }
                }
            }
            self::assertSame($described, $stub, "stubs/sse.stub.php differs from the extension for $class");
        }
    }

    public function testStubsAreValidPhp(): void
    {
        foreach (['sse.stub.php', 'mercure.stub.php'] as $stub) {
            exec(PHP_BINARY . ' -n -l ' . escapeshellarg(self::ROOT . "/stubs/$stub") . ' 2>&1', $output, $status);
            self::assertSame(0, $status, implode("\n", $output));
        }
    }

    /** @return array<string, array<string, mixed>> */
    private function describe(array $command): array
    {
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($process);
        $json = stream_get_contents($pipes[1]);
        $errors = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($process), $errors);
        return json_decode($json, true, 512, JSON_THROW_ON_ERROR);
    }
}
