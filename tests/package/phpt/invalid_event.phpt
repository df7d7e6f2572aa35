--TEST--
a line break in an event name is refused with Sse\InvalidEventException
--EXTENSIONS--
sse
--FILE--
<?php
try {
    echo new Sse\ServerSentEvents(['event' => "a\nb", 'data' => 'x']);
} catch (Sse\InvalidEventException $e) {
    echo get_class($e), "\n";
}
?>
--EXPECT--
Sse\InvalidEventException
