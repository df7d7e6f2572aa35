<?php

/**
 * Workerman 5's `Workerman\Protocols\Http\ServerSentEvents::__toString()`, rewritten here as
 * the reference that Sse\ServerSentEvents must match byte for byte (Workerman is not
 * installable here). Kept as close to the original as possible, including strict_types, which
 * makes Workerman refuse non-string data (str_replace() gets an int): only strings are compared.
 *
 * Its rules: keys '' (comment), event, id, retry, data; a key counts when isset() (so 0, '0'
 * and '' are written, null is not); order comment, event, id, retry, data; `field: value`;
 * data split on "\n" only; nothing validated.
 */

declare(strict_types=1);

namespace Sse\Tests\Framing\Fixtures;

final class WorkermanServerSentEvents implements \Stringable
{
    /** @param array<string, mixed> $data */
    public function __construct(private array $data)
    {
    }

    public function __toString(): string
    {
        $buffer = '';
        $data = $this->data;
        if (isset($data[''])) {
            $buffer = ": {$data['']}\n";
        }
        if (isset($data['event'])) {
            $buffer .= "event: {$data['event']}\n";
        }
        if (isset($data['id'])) {
            $buffer .= "id: {$data['id']}\n";
        }
        if (isset($data['retry'])) {
            $buffer .= "retry: {$data['retry']}\n";
        }
        if (isset($data['data'])) {
            $buffer .= 'data: ' . str_replace("\n", "\ndata: ", $data['data']) . "\n";
        }
        return "$buffer\n";
    }
}
