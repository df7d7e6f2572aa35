<?php

// The same as tests/laravel-app's, over Laravel's defaults.
return require dirname(__DIR__, 2) . '/laravel-app/config/logging.php';
