"""The Symfony test app (tests/symfony-app) behind nginx + php-fpm, as Symfony's docs deploy it
(every path that is not a file goes to public/index.php). Symfony 7.4 comes from Debian sid's
packages, so the app runs in the PHP 8.5 and 8.6 roots only; elsewhere require_symfony() skips.

Its cache and logs go to the stack's temp dir through the SSE_APP_STORAGE FastCGI param, so the
app's log (var/log/app.log in a skeleton) can be read by the tests; SSE_BROKER reaches the
bundle's broker config (config/packages/sse.yaml).
"""
import os
from pathlib import Path

import pytest

from . import client, fpm, nginx_fpm
from .phpini import installed_version

APP = Path(__file__).resolve().parents[2] / "symfony-app"


# Symfony's version as the PHP under test finds it through the app's autoloader ('' when none).
VERSION = installed_version("Symfony/Bundle/FrameworkBundle/autoload.php", "Symfony\\Component\\HttpKernel\\Kernel::VERSION")


def _at_least_7_4(version: str) -> bool:
    parts = version.split(".")
    return len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and (int(parts[0]), int(parts[1])) >= (7, 4)


def require_symfony():
    """Skips unless Symfony 7.4 or later is installed; fails instead when SSE_REQUIRE_SYMFONY is
    set (the CI run under the PHP of Debian's Symfony 7.4), so that no skip hides a missing one."""
    if _at_least_7_4(VERSION):
        return
    reason = ("needs Symfony 7.4 (php-symfony-framework-bundle from Debian sid), found "
              f"{'Symfony ' + VERSION if VERSION else 'no FrameworkBundle'}")
    if os.environ.get("SSE_REQUIRE_SYMFONY"):
        pytest.fail(f"{reason}, and SSE_REQUIRE_SYMFONY is set", pytrace=False)
    pytest.skip(reason)


def start(name: str = "symfony", extension: bool = True, children: int = fpm.CHILDREN,
          fastcgi_params: dict | None = None, ini: dict | None = None) -> nginx_fpm.Stack:
    """The app, checked to answer /ping. `extension=False`: php-fpm without the extension, not
    checked (the app is expected to fail). `fastcgi_params` reach the app's $_SERVER (e.g.
    SSE_BROKER); `children` is the pool size."""
    require_symfony()
    stack = nginx_fpm.start(name, root=APP / "public", front_controller=True, children=children,
                            fastcgi_params={"SSE_APP_STORAGE": "{tmp}/symfony", **(fastcgi_params or {})},
                            extension=extension, ini=ini)
    if not extension:
        return stack
    client.require_pong(stack, name, timeout=30)  # the first request compiles the container
    return stack


def app_log(stack) -> str:
    path = stack.tmp / "symfony" / "log" / "app.log"
    return path.read_text(errors="replace") if path.exists() else ""
