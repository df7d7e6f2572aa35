"""A php-fpm pool in a temp dir, for the nginx stacks.

`pm = static` with a few children: each open event stream holds one child for its whole life,
so the pool size is the number of concurrent streams (tests rely on knowing it).
"""
import os
import signal
import time
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


def workers(service) -> set:
    """The pids of the php-fpm master's children (its workers)."""
    pid = service.proc.pid
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def reload(service, timeout: float = 20.0):
    """Reloads php-fpm as `systemctl reload` does (SIGUSR2 to the master): every worker ends
    its requests and streams and is replaced. Returns once the old workers have exited and new
    ones are up, however long a busy machine takes."""
    old = workers(service)
    os.kill(service.proc.pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = workers(service)
        if not any(Path(f"/proc/{pid}").exists() for pid in old) and now and not now & old:
            return
        time.sleep(0.05)
    raise TimeoutError(f"php-fpm's workers {sorted(old)} were not replaced within {timeout}s")
