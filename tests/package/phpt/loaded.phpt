--TEST--
the built module loads and frames an event (phpize build: make test)
--EXTENSIONS--
sse
--FILE--
<?php
var_dump(extension_loaded('sse'));
echo new Sse\ServerSentEvents(['event' => 'built', 'id' => '7', 'data' => "two\nlines"]);
?>
--EXPECT--
bool(true)
event: built
id: 7
data: two
data: lines
