"""Suite-wide test settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op torch thread for the whole suite.

    The 2-core machines run other work beside the tests (training, servers started by the
    integration tests); oversubscribed OpenMP threads spin and make small tensor ops crawl.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
