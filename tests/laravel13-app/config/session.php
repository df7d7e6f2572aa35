<?php

// Laravel's session defaults (Debian's copy of the framework's config/session.php), in memory:
// no route of the app has the `web` group that starts a session.
return ['driver' => 'array'] + require 'Illuminate/config/session.php';
