from harness.fixtures import marks, running_stack, stack, time_limit  # noqa: F401 - pytest fixtures
