<?php
// A plain HTML page: proves the stack's compression (zlib.output_compression, mod_deflate) is
// really on, so that its absence on event streams means the emitter turned it off.
echo '<!doctype html><title>plain</title><p>', str_repeat('compressible text ', 500), '</p>';
