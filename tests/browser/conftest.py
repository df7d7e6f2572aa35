"""The browser suite reuses the real-stack launchers, on the stacks a browser meets in production."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stacks"))

from harness.fixtures import marks, start_checked, stack, time_limit  # noqa: E402,F401 - pytest fixtures

BROWSER_STACKS = ["cli", "nginx-fpm", "apache", "apache-fpm", "nginx-h2"]


@pytest.fixture(scope="session", params=BROWSER_STACKS)
def running_stack(request):
    started = start_checked(request.param)
    yield started
    started.stop()
