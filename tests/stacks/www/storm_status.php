<?php
// php-fpm answers this path itself when the pool sets pm.status_path to it (test_storm.py);
// reaching the script means the status page is not configured.
http_response_code(500);
echo "pm.status_path is not set to this path\n";
