<?php

/**
 * The edge cases framed by Sse\ServerSentEvents and checked against eventsource-parser.
 *
 * Each case builds one event (from a fields array, or with a closure for the named
 * constructors and objects) and says, written out by hand, what a client must see:
 *   events   - the events dispatched: data, and event type / id when the frame sets them
 *              (an empty event type means "message", which eventsource-parser reports as none);
 *   comments - the comment lines, in order;
 *   retry    - the reconnection times announced, in order;
 *   refused  - true when the extension must throw Sse\InvalidEventException instead.
 * The expected values are written from the spec, not computed by the code under test: a line
 * break of any kind in data arrives as "\n", and JSON is compact with slashes and Unicode as is.
 */

declare(strict_types=1);

use Sse\ServerSentEvents;

$thousandLines = implode("\n", array_map(static fn (int $i): string => "line $i", range(1, 1000)));
$bigLine = str_repeat('0123456789abcdef', 4096); // 64 KiB, no line break

$point = new class implements JsonSerializable {
    public function jsonSerialize(): mixed
    {
        return ['x' => 1, 'y' => [2, 3], 'label' => 'a/b'];
    }
};

$object = new stdClass();
$object->k = 'v';
$object->n = null;

return [
    // Multi-line data and every kind of line break.
    ['name' => 'single-line data', 'fields' => ['data' => 'hello'], 'events' => [['data' => 'hello']]],
    ['name' => 'multi-line data (LF)', 'fields' => ['data' => "a\nb\nc"], 'events' => [['data' => "a\nb\nc"]]],
    ['name' => 'CRLF in data', 'fields' => ['data' => "a\r\nb"], 'events' => [['data' => "a\nb"]]],
    ['name' => 'lone CR in data', 'fields' => ['data' => "a\rb"], 'events' => [['data' => "a\nb"]]],
    ['name' => 'two lone CRs in data', 'fields' => ['data' => "a\r\rb"], 'events' => [['data' => "a\n\nb"]]],
    ['name' => 'LF then CR in data', 'fields' => ['data' => "a\n\rb"], 'events' => [['data' => "a\n\nb"]]],
    ['name' => 'mixed line breaks', 'fields' => ['data' => "1\r\n2\r3\n4"], 'events' => [['data' => "1\n2\n3\n4"]]],
    ['name' => 'blank line inside data', 'fields' => ['data' => "a\n\nb"], 'events' => [['data' => "a\n\nb"]]],
    ['name' => 'CRLF blank lines inside data', 'fields' => ['data' => "a\r\n\r\nb"], 'events' => [['data' => "a\n\nb"]]],
    ['name' => 'trailing line break in data', 'fields' => ['data' => "a\n"], 'events' => [['data' => "a\n"]]],
    ['name' => 'trailing CR in data', 'fields' => ['data' => "a\r"], 'events' => [['data' => "a\n"]]],
    ['name' => 'leading line break in data', 'fields' => ['data' => "\na"], 'events' => [['data' => "\na"]]],
    ['name' => 'data is only line breaks', 'fields' => ['data' => "\r\n\r\n"], 'events' => [['data' => "\n\n"]]],
    ['name' => 'leading spaces in data', 'fields' => ['data' => '  two spaces'], 'events' => [['data' => '  two spaces']]],
    ['name' => 'leading space on a later line', 'fields' => ['data' => "a\n b"], 'events' => [['data' => "a\n b"]]],
    ['name' => 'leading colon in data', 'fields' => ['data' => ':not a comment'], 'events' => [['data' => ':not a comment']]],
    ['name' => 'leading colon on a later line', 'fields' => ['data' => "a\n:b"], 'events' => [['data' => "a\n:b"]]],
    ['name' => 'tab and trailing spaces', 'fields' => ['data' => "\tx  "], 'events' => [['data' => "\tx  "]]],

    // Empty and falsy values are values (isset semantics).
    ['name' => "empty string data ''", 'fields' => ['data' => ''], 'events' => [['data' => '']]],
    ['name' => "string data '0'", 'fields' => ['data' => '0'], 'events' => [['data' => '0']]],
    ['name' => 'int data 0', 'fields' => ['data' => 0], 'events' => [['data' => '0']]],
    ['name' => 'negative int data', 'fields' => ['data' => -42], 'events' => [['data' => '-42']]],
    ['name' => 'float data 1.5', 'fields' => ['data' => 1.5], 'events' => [['data' => '1.5']]],
    ['name' => 'float data -0.0', 'fields' => ['data' => -0.0], 'events' => [['data' => '-0']]],
    ['name' => 'float data 1e100', 'fields' => ['data' => 1e100], 'events' => [['data' => '1.0E+100']]],
    ['name' => 'float data 0.1 + 0.2 (PHP precision)', 'fields' => ['data' => 0.1 + 0.2], 'events' => [['data' => '0.3']]],
    ['name' => 'bool data true', 'fields' => ['data' => true], 'events' => [['data' => '1']]],
    ['name' => 'null data is left out', 'fields' => ['event' => 'x', 'data' => null], 'events' => []],
    ['name' => 'no fields at all', 'fields' => [], 'events' => []],

    // Unicode: only CR and LF break lines.
    ['name' => 'emoji', 'fields' => ['data' => "😀 👍🏽 👩‍👩‍👧"], 'events' => [['data' => "😀 👍🏽 👩‍👩‍👧"]]],
    ['name' => 'U+2028 LINE SEPARATOR', 'fields' => ['data' => "a\u{2028}b"], 'events' => [['data' => "a\u{2028}b"]]],
    ['name' => 'U+2029 PARAGRAPH SEPARATOR', 'fields' => ['data' => "a\u{2029}b"], 'events' => [['data' => "a\u{2029}b"]]],
    ['name' => 'NEL U+0085', 'fields' => ['data' => "a\u{85}b"], 'events' => [['data' => "a\u{85}b"]]],
    ['name' => 'VT and FF', 'fields' => ['data' => "a\x0bb\x0cc"], 'events' => [['data' => "a\x0bb\x0cc"]]],
    ['name' => 'BOM inside data', 'fields' => ['data' => "\u{FEFF}x"], 'events' => [['data' => "\u{FEFF}x"]]],
    ['name' => 'NUL in data', 'fields' => ['data' => "a\0b"], 'events' => [['data' => "a\0b"]]],

    // Size.
    ['name' => '64 KiB line', 'fields' => ['data' => $bigLine], 'events' => [['data' => $bigLine]]],
    ['name' => '1000 lines', 'fields' => ['data' => $thousandLines], 'events' => [['data' => $thousandLines]]],

    // Arrays and objects as compact JSON, slashes and Unicode unescaped.
    ['name' => 'JSON list', 'fields' => ['data' => [1, 2, 3]], 'events' => [['data' => '[1,2,3]']]],
    ['name' => 'JSON empty array', 'fields' => ['data' => []], 'events' => [['data' => '[]']]],
    ['name' => 'JSON object from array', 'fields' => ['data' => ['url' => 'https://e.x/a/b', 'name' => 'Zoë 😀']],
        'events' => [['data' => '{"url":"https://e.x/a/b","name":"Zoë 😀"}']]],
    ['name' => 'JSON nested', 'fields' => ['data' => ['a' => ['b' => [true, null, 1.5]]]],
        'events' => [['data' => '{"a":{"b":[true,null,1.5]}}']]],
    ['name' => 'JSON string with a line break stays one line', 'fields' => ['data' => ['text' => "a\nb\r"]],
        'events' => [['data' => '{"text":"a\nb\r"}']]],
    ['name' => 'JSON keeps U+2028 escaped', 'fields' => ['data' => ['s' => "\u{2028}"]], 'events' => [['data' => '{"s":"\u2028"}']]],
    ['name' => 'JSON stdClass', 'fields' => ['data' => $object], 'events' => [['data' => '{"k":"v","n":null}']]],
    ['name' => 'JSON empty stdClass', 'fields' => ['data' => new stdClass()], 'events' => [['data' => '{}']]],
    ['name' => 'JsonSerializable', 'fields' => ['data' => $point], 'events' => [['data' => '{"x":1,"y":[2,3],"label":"a/b"}']]],

    // Comments never dispatch an event; every line stays a comment.
    ['name' => 'comment', 'fields' => ['comment' => 'keep-alive'], 'events' => [], 'comments' => ['keep-alive']],
    ['name' => "Workerman '' comment", 'fields' => ['' => 'hi'], 'events' => [], 'comments' => ['hi']],
    ['name' => 'empty comment', 'fields' => ['' => ''], 'events' => [], 'comments' => ['']],
    ['name' => 'multi-line comment', 'fields' => ['comment' => "a\nb\r\nc\rd"], 'events' => [], 'comments' => ['a', 'b', 'c', 'd']],
    ['name' => 'comment with blank lines and an injection', 'fields' => ['comment' => "x\n\ndata: evil\n\n"],
        'events' => [], 'comments' => ['x', '', 'data: evil', '', '']],
    ['name' => 'comment with data', 'fields' => ['comment' => 'note', 'data' => 'd'], 'events' => [['data' => 'd']], 'comments' => ['note']],
    ['name' => 'comment() named constructor', 'build' => static fn () => ServerSentEvents::comment(), 'events' => [], 'comments' => ['']],
    ['name' => 'comment() multi-line', 'build' => static fn () => ServerSentEvents::comment("1\n2"), 'events' => [], 'comments' => ['1', '2']],

    // Ids.
    ['name' => 'id with spaces', 'fields' => ['id' => 'abc 123', 'data' => 'x'], 'events' => [['data' => 'x', 'id' => 'abc 123']]],
    ['name' => 'id with a leading space', 'fields' => ['id' => ' 7', 'data' => 'x'], 'events' => [['data' => 'x', 'id' => ' 7']]],
    ['name' => 'id with a colon', 'fields' => ['id' => 'a:b', 'data' => 'x'], 'events' => [['data' => 'x', 'id' => 'a:b']]],
    ['name' => 'unicode id', 'fields' => ['id' => 'ид-😀', 'data' => 'x'], 'events' => [['data' => 'x', 'id' => 'ид-😀']]],
    ['name' => 'empty id', 'fields' => ['id' => '', 'data' => 'x'], 'events' => [['data' => 'x', 'id' => '']]],
    ['name' => 'int id 0', 'fields' => ['id' => 0, 'data' => 'x'], 'events' => [['data' => 'x', 'id' => '0']]],
    ['name' => 'id without data dispatches nothing', 'fields' => ['id' => '9'], 'events' => []],

    // Event types.
    ['name' => 'event name with spaces', 'fields' => ['event' => 'my event', 'data' => 'x'], 'events' => [['data' => 'x', 'event' => 'my event']]],
    ['name' => 'event name with a leading space', 'fields' => ['event' => ' e', 'data' => 'x'], 'events' => [['data' => 'x', 'event' => ' e']]],
    ['name' => 'unicode event name', 'fields' => ['event' => 'événement', 'data' => 'x'], 'events' => [['data' => 'x', 'event' => 'événement']]],
    ['name' => "event name '0'", 'fields' => ['event' => '0', 'data' => 'x'], 'events' => [['data' => 'x', 'event' => '0']]],
    ['name' => 'empty event name means message', 'fields' => ['event' => '', 'data' => 'x'], 'events' => [['data' => 'x']]],

    // Retry.
    ['name' => 'retry 0', 'fields' => ['retry' => 0, 'data' => 'x'], 'events' => [['data' => 'x']], 'retry' => [0]],
    ['name' => 'retry 3000 alone', 'fields' => ['retry' => 3000], 'events' => [], 'retry' => [3000]],
    ['name' => "retry '0750' as text", 'fields' => ['retry' => '0750'], 'events' => [], 'retry' => [750]],
    ['name' => 'retry one day', 'fields' => ['retry' => 86400000, 'data' => 'x'], 'events' => [['data' => 'x']], 'retry' => [86400000]],

    // Everything at once, and the named constructor.
    ['name' => 'all fields', 'fields' => ['data' => "l1\nl2", 'retry' => 5, 'id' => 'i', 'event' => 'e', 'comment' => 'c'],
        'events' => [['data' => "l1\nl2", 'event' => 'e', 'id' => 'i']], 'comments' => ['c'], 'retry' => [5]],
    ['name' => 'message() named constructor', 'build' => static fn () => ServerSentEvents::message(['a' => 1], 'update', 7),
        'events' => [['data' => '{"a":1}', 'event' => 'update', 'id' => '7']]],

    // Injection attempts: data stays data, single-line fields are refused.
    ['name' => 'blank line + event in data', 'fields' => ['data' => "ok\n\nevent: evil\ndata: x"], 'events' => [['data' => "ok\n\nevent: evil\ndata: x"]]],
    ['name' => 'lone CR + id in data', 'fields' => ['data' => "x\rid: 666"], 'events' => [['data' => "x\nid: 666"]]],
    ['name' => 'CRLF CRLF + data in data', 'fields' => ['data' => "x\r\n\r\ndata: y"], 'events' => [['data' => "x\n\ndata: y"]]],
    ['name' => 'CR CR + retry in data', 'fields' => ['data' => "x\r\rretry: 1"], 'events' => [['data' => "x\n\nretry: 1"]]],
    ['name' => 'LF in event name', 'fields' => ['event' => "up\ndata: x", 'data' => 'y'], 'refused' => true],
    ['name' => 'lone CR in event name', 'fields' => ['event' => "up\rdata: x"], 'refused' => true],
    ['name' => 'CRLF in id', 'fields' => ['id' => "1\r\nevent: evil", 'data' => 'y'], 'refused' => true],
    ['name' => 'lone CR in id', 'fields' => ['id' => "x\rid: 666", 'data' => 'y'], 'refused' => true],
    ['name' => 'NUL in id', 'fields' => ['id' => "a\0b", 'data' => 'y'], 'refused' => true],
    ['name' => 'LF in retry', 'fields' => ['retry' => "100\ndata: x"], 'refused' => true],
];
