--TEST--
sse.broker defaults to the embedded broker, and can be set at run time
--EXTENSIONS--
sse
--FILE--
<?php
var_dump(ini_get('sse.broker'));
ini_set('sse.broker', 'redis://127.0.0.1:6379');
var_dump(ini_get('sse.broker'));
?>
--EXPECT--
string(5) "local"
string(22) "redis://127.0.0.1:6379"
