"""The Laravel test app behind nginx + php-fpm, as Laravel's docs deploy it: tests/laravel-app
under Laravel 8 to 10, tests/laravel13-app (the same app in the skeleton of Application::configure())
under Laravel 11 and later, whichever Debian's php-laravel-framework installed for the PHP under
test (Laravel 8 with PHP 8.2, 10 in the PHP 8.4 root, 13 in the 8.5 and 8.6 roots).

Its storage (logs, caches) goes to the stack's temp dir through the SSE_APP_STORAGE FastCGI
param, so laravel.log can be read by the tests.
"""
import os
from pathlib import Path

import pytest

from . import client, fpm, nginx_fpm
from .phpini import installed_version

TESTS = Path(__file__).resolve().parents[2]


# Laravel's version as the PHP under test finds it ('' when it finds none).
VERSION = installed_version("Illuminate/autoload.php", "Illuminate\\Foundation\\Application::VERSION")
MAJOR = int(VERSION.split(".")[0]) if VERSION[:1].isdigit() else 0
APP = TESTS / ("laravel13-app" if MAJOR >= 11 else "laravel-app")


def require_laravel13():
    """Skips unless Laravel 13 or later is installed; fails instead when SSE_REQUIRE_LARAVEL13 is
    set (the CI run under the PHP of Debian's Laravel 13), so that no skip hides a missing one."""
    if MAJOR >= 13:
        return
    reason = f"needs Laravel 13 (php-laravel-framework from Debian sid), found {VERSION and 'Laravel ' + VERSION or 'none'}"
    if os.environ.get("SSE_REQUIRE_LARAVEL13"):
        pytest.fail(f"{reason}, and SSE_REQUIRE_LARAVEL13 is set", pytrace=False)
    pytest.skip(reason)


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
    client.require_pong(stack, name)
    return stack


def laravel_log(stack) -> str:
    path = stack.tmp / "laravel" / "logs" / "laravel.log"
    return path.read_text(errors="replace") if path.exists() else ""
