"""The Laravel test app (tests/laravel-app) behind nginx + php-fpm, as Laravel's docs deploy it.

Its storage (logs, caches) goes to the stack's temp dir through the SSE_APP_STORAGE FastCGI
param, so laravel.log can be read by the tests.
"""
from pathlib import Path

import pytest

from . import client, fpm, nginx_fpm

APP = Path(__file__).resolve().parents[2] / "laravel-app"


def start(name: str = "laravel", extension: bool = True, children: int = fpm.CHILDREN,
          fastcgi_params: dict | None = None) -> nginx_fpm.Stack:
    """The app, checked to answer /ping. `extension=False`: php-fpm without the extension, not
    checked (the app is expected to fail). `fastcgi_params` reach the app's env() (e.g.
    SSE_BROKER); `children` is the pool size."""
    stack = nginx_fpm.start(name, root=APP / "public", front_controller=True, children=children,
                            fastcgi_params={"SSE_APP_STORAGE": "{tmp}/laravel", **(fastcgi_params or {})},
                            extension=extension)
    if not extension:
        return stack
    try:
        ping = client.get(stack, "ping")
        if (ping.status, ping.body) != (200, b"pong"):
            pytest.fail(f"{name}: /ping answered {ping.status} {ping.body[:500]!r}\n{stack.describe()}",
                        pytrace=False)
    except BaseException:
        stack.stop()
        raise
    return stack


def laravel_log(stack) -> str:
    path = stack.tmp / "laravel" / "logs" / "laravel.log"
    return path.read_text(errors="replace") if path.exists() else ""
