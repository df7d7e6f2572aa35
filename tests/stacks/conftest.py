from harness.fixtures import marks, running_stack, stack  # noqa: F401 - pytest fixtures
