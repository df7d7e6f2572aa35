"""Caddy in front of php-fpm with `php_fastcgi`, the one-line set-up Caddy's docs give for PHP.

Caddy's reverse proxy flushes `text/event-stream` responses at once by itself (no buffering to
turn off) and opens a FastCGI connection per request, so `detach()` can take it. It notices a
browser that left only when a write to it fails, the second write after the hang-up (the first
one draws the reset), and only then closes the FastCGI connection: a stream's heartbeats are
what free its worker. Caddy is only in Debian sid among the releases these tests use (2.11); where
it is missing the stack is left out (SSE_REQUIRE_CADDY=1 makes that a failure instead).
"""
import os
import shutil

from . import fpm
from .procs import Service, free_port
from .stack import WWW, Stack, make_tmp


def available() -> bool:
    if shutil.which("caddy"):
        return True
    if os.environ.get("SSE_REQUIRE_CADDY"):
        raise RuntimeError("SSE_REQUIRE_CADDY is set but caddy is not installed (Debian sid: apt-get install caddy)")
    return False


def start(name: str = "caddy-fpm", ini: dict | None = None) -> Stack:
    tmp = make_tmp(name)
    port = free_port()
    fpm_svc, sock = fpm.service(tmp, ini)
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(f"""\
{{
    admin off
    auto_https off
    persist_config off
    log {{
        output file {tmp / 'caddy.log'}
    }}
}}

http://127.0.0.1:{port} {{
    root * {WWW}
    php_fastcgi unix/{sock}
    file_server
}}
""")
    stack = Stack(name=name, port=port, tmp=tmp, services=[fpm_svc], workers=fpm.CHILDREN,
                  ends_response_at_close=True, compresses_html=False,
                  sees_hangup_without_write=False, heartbeats_to_notice=2,
                  zlib=bool(ini and ini.get("zlib.output_compression") == "On"))
    # Caddy keeps its state under $XDG_DATA_HOME and $XDG_CONFIG_HOME: the temp dir, not ~.
    env = {"XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
    caddy = Service("caddy", ["caddy", "run", "--config", caddyfile, "--adapter", "caddyfile"], tmp, env=env)
    return stack.launch((fpm_svc, sock), (caddy, ("127.0.0.1", port)))
