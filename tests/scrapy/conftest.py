from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]

POLICY_YAML = """\
version: 1
crawler:
  product_token: TestBot
  purpose: search-indexing
audit:
  fsync_every: 1000
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """The shipped notices, a test policy.yaml and no site records (tests add them)."""
    directory = tmp_path / "policies"
    (directory / "sites").mkdir(parents=True)
    shutil.copytree(REPO / "policies" / "notices", directory / "notices")
    (directory / "policy.yaml").write_text(POLICY_YAML)
    return directory


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"
