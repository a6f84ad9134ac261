"""The new core pieces import and run with Scrapy and Twisted unavailable; the crawl's
policy directory is found relative to the project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('scrapy', 'twisted'):
            raise ImportError('blocked: ' + name)
        return None
sys.meta_path.insert(0, Block())
from crawler_compliance._identity import crawl_identity
from crawler_compliance._notices import notices_that_do_not_deny
from crawler_compliance._checker import ComplianceChecker
from crawler_compliance.policy import load_policy
from crawler_compliance.report import build_report, render_html, render_text
checker = ComplianceChecker(load_policy('policies'))
assert notices_that_do_not_deny(checker) == []
report = build_report('x', [{'url': 'https://a.example/', 'verdict': 'deny', 'host': 'a'}])
assert '<svg' in render_html(report) and 'denied' in render_text(report)
assert crawl_identity(user_agent_header=None, compliance_user_agent=None,
                      policy_token='Bot').robots_token == 'Bot'
print('ok')
"""


def test_core_pieces_need_no_scrapy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_crawl_policy_dir_is_relative_to_scrapy_cfg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy.settings import Settings

    from crawler_compliance.scrapy._config import Config

    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = p.settings\n")
    (tmp_path / "p" / "spiders").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "p" / "spiders")
    config = Config.from_settings(Settings({"COMPLIANCE_POLICY_DIR": "legal/policies"}))
    assert config.policy_dir == str(tmp_path / "legal" / "policies")
    config = Config.from_settings(Settings({"COMPLIANCE_POLICY_DIR": "/abs/policies"}))
    assert config.policy_dir == "/abs/policies"
