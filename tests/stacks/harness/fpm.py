"""A php-fpm pool in a temp dir, for the nginx stacks.

`pm = static` with a few children: each open event stream holds one child for its whole life,
so the pool size is the number of concurrent streams (tests rely on knowing it).
"""
from pathlib import Path

from .phpini import PHP_VERSION, scan_dir_env, write_php_ini
from .procs import Service

CHILDREN = 2


def service(tmp: Path, ini: dict | None = None, request_terminate_timeout: int = 0,
            children: int = CHILDREN, pool_extra: str = "", extension: bool = True,
            global_extra: str = "") -> tuple:
    """Returns (Service, socket path). Runs as root (-R) so it can write the temp dir.

    `pool_extra` is appended to the pool section (e.g. `pm.status_path`), `global_extra` to
    the global one (e.g. `process_control_timeout`).
    """
    php_ini = write_php_ini(tmp, ini, extension)
    sock = tmp / "fpm.sock"
    conf = tmp / "php-fpm.conf"
    conf.write_text(f"""\
[global]
pid = {tmp / 'fpm.pid'}
error_log = {tmp / 'fpm.log'}
daemonize = no
log_level = notice
{global_extra}

[www]
listen = {sock}
; Apache talks to it as www-data
listen.mode = 0666
pm = static
pm.max_children = {children}
; streams must not be killed by the pool (0 = no wall-clock limit); see FINDINGS.md
request_terminate_timeout = {request_terminate_timeout}
catch_workers_output = yes
decorate_workers_output = no
clear_env = no
{pool_extra}""")
    svc = Service("php-fpm", [f"php-fpm{PHP_VERSION}", "-F", "-R", "-y", conf, "-c", php_ini], tmp,
                  env=scan_dir_env(tmp, "fpm"))
    return svc, sock
