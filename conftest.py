"""Repository-wide pytest settings for executing the notebooks with nbval."""

from __future__ import annotations

import pytest

# nbval waits at most 5 s (hard-coded) for each output message after a cell has
# finished. On a busy 2-core machine a cell that trained for a minute can still be
# flushing its progress bars then; give the kernel time instead of failing a cell that
# ran fine.
NBVAL_OUTPUT_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S
