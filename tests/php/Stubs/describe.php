<?php

/**
 * Prints, as JSON, what PHP's Reflection sees of the extension's API (the `Sse\` classes and
 * the global functions): from the loaded extension, or, given stub files as arguments, from the
 * stubs (run without the extension).
 *   php -d extension=libsse.so describe.php
 *   php -n describe.php stubs/sse.stub.php stubs/mercure.stub.php
 */

declare(strict_types=1);

if (isset($argv[1])) {
    if (extension_loaded('sse')) {
        fwrite(STDERR, "describe the stubs in a PHP without the extension\n");
        exit(2);
    }
    $before = get_defined_functions()['user'];
    foreach (array_slice($argv, 1) as $stub) {
        require $stub;
    }
    $functions = array_values(array_diff(get_defined_functions()['user'], $before));
    $names = array_filter(
        array_merge(get_declared_classes(), get_declared_interfaces()),
        fn (string $name): bool => str_starts_with($name, 'Sse\\'),
    );
} else {
    $names = (new ReflectionExtension('sse'))->getClassNames();
    $functions = array_keys((new ReflectionExtension('sse'))->getFunctions());
}
sort($names);
$functions = array_map('strtolower', $functions);
sort($functions);

function describeType(?ReflectionType $type): ?string
{
    if ($type === null) {
        return null;
    }
    if ($type instanceof ReflectionNamedType) {
        $name = $type->getName();
        return ($type->allowsNull() && $name !== 'mixed' && $name !== 'null' ? '?' : '') . $name;
    }
    $parts = array_map(fn (ReflectionType $t): string => (string) $t, $type->getTypes());
    sort($parts);
    return implode('|', $parts);
}

function describeParameter(ReflectionParameter $p): array
{
    return [
        'name' => $p->getName(),
        'type' => describeType($p->getType()),
        'optional' => $p->isOptional(),
        'default' => $p->isDefaultValueAvailable() ? var_export($p->getDefaultValue(), true) : null,
        'variadic' => $p->isVariadic(),
        'byRef' => $p->isPassedByReference(),
    ];
}

$api = [];
foreach ($names as $name) {
    $class = new ReflectionClass($name);
    $interfaces = $class->getInterfaceNames();
    sort($interfaces);
    $methods = [];
    foreach ($class->getMethods() as $method) {
        if ($method->getDeclaringClass()->getName() !== $class->getName()) {
            continue;
        }
        $methods[$method->getName()] = [
            'static' => $method->isStatic(),
            'final' => $method->isFinal(),
            'visibility' => $method->isPublic() ? 'public' : ($method->isProtected() ? 'protected' : 'private'),
            'parameters' => array_map('describeParameter', $method->getParameters()),
            'return' => describeType($method->getReturnType()),
        ];
    }
    ksort($methods);
    $constants = $class->getConstants();
    ksort($constants);
    $api[$name] = [
        'final' => $class->isFinal(),
        'abstract' => $class->isAbstract() && !$class->isInterface(),
        'interface' => $class->isInterface(),
        'parent' => $class->getParentClass() ? $class->getParentClass()->getName() : null,
        'interfaces' => $interfaces,
        'constants' => $constants,
        'methods' => $methods,
    ];
}
foreach ($functions as $name) {
    $function = new ReflectionFunction($name);
    $api["function $name"] = [
        'parameters' => array_map('describeParameter', $function->getParameters()),
        'return' => describeType($function->getReturnType()),
    ];
}
echo json_encode($api, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
