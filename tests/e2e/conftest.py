"""One stack of real processes for the whole e2e session (tests/support/stack.py)."""

from collections.abc import Iterator

import pytest
from support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work_dir = tmp_path_factory.mktemp("e2e")
    with running_stack(work_dir) as started:
        yield started
    print(f"e2e logs were in {started.log_dir}")
