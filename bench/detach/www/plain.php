<?php
// An ordinary page.
header('Content-Type: text/plain');
echo 'ok pid=', getmypid(), "\n";
