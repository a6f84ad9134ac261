"""A scratch policy directory per test: valid to start with, then made bad one file at a time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crawler_compliance.policy import Policy, PolicyError, load_policy

VALID_POLICY = """\
crawler:
  product_token: TestBot
  purpose: research
"""

VALID_NOTICE = """\
id: acme-2020-01
issuer:
  name: Acme Corp.
received: 2020-01-10
status: active
scopes:
  - label: Acme
    kind: named-service
    domains: [acme.example]
"""


class PolicyDir:
    """``pol/`` under the test's working directory, so messages read ``pol/...``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = "pol"
        self.write("policy.yaml", VALID_POLICY)

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    def load(self) -> Policy:
        return load_policy(self.name)

    def errors(self) -> list[str]:
        with pytest.raises(PolicyError) as info:
            load_policy(self.name)
        assert str(info.value) == "\n".join(str(i) for i in info.value.issues)
        return [str(issue) for issue in info.value.issues]


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PolicyDir:
    monkeypatch.chdir(tmp_path)
    return PolicyDir(tmp_path / "pol")
