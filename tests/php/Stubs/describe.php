<?php

/**
 * Prints, as JSON, what PHP's Reflection sees of the `Sse\` API: from the loaded extension, or,
 * given a stub file as argument, from the stubs (run without the extension).
 *   php -d extension=libsse.so describe.php
 *   php -n describe.php stubs/sse.stub.php
 */

declare(strict_types=1);

if (isset($argv[1])) {
    if (extension_loaded('sse')) {
        fwrite(STDERR, "describe the stubs in a PHP without the extension\n");
        exit(2);
    }
    require $argv[1];
    $names = array_filter(
        array_merge(get_declared_classes(), get_declared_interfaces()),
        fn (string $name): bool => str_starts_with($name, 'Sse\\'),
    );
} else {
    $names = (new ReflectionExtension('sse'))->getClassNames();
}
sort($names);

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
echo json_encode($api, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
