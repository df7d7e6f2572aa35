"""The README's way to load the extension into php-fpm without a system-wide install: one
`php_admin_value[extension]` line in the pool, with nothing in php.ini or conf.d.
"""
import json

from harness import client, nginx_fpm
from harness.phpini import extension_path


def test_a_pool_line_loads_the_extension_without_a_system_install():
    stack = nginx_fpm.start("nginx-fpm-pool-line", extension=False,
                            pool_extra=f"php_admin_value[extension] = {extension_path()}\n")
    try:
        probe = json.loads(client.get(stack, "probe.php").body)
        assert probe["emitter"] is True, probe
        with client.Stream(stack, "rotate.php") as s:
            first = s.next_event(timeout=5)
        assert first is not None and first.data == "n=1", s.body
    finally:
        stack.stop()
