from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler_compliance._testing.netguard import loopback_only

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="session")
def _tests_touch_only_loopback() -> Iterator[None]:
    """Offline by default, enforced: any lookup or connection off 127.0.0.1 fails."""
    with loopback_only() as refused:
        yield
    assert not refused, f"the tests tried to leave loopback: {refused}"
