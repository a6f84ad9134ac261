"""The README's main-job command, run as a user runs it: ``python -m examples.demo``.

Run in a subprocess because the demo owns its process (it installs the Twisted
reactor and guards the process's sockets) and because its exit code and printed
report are the contract: a reviewer trusts the printed per-host table, so the
test reads that table rather than the demo's internals.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.crawl


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    output_dir = tmp_path_factory.mktemp("demo-output")
    return subprocess.run(
        [sys.executable, "-m", "examples.demo", "--output-dir", str(output_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _received(output: str, host: str) -> tuple[int, int, int]:
    """(total, robots.txt, pages) for ``host`` from the demo's per-host table."""
    match = re.search(rf"^{re.escape(host)}\s+(\d+)\s+(\d+)\s+(\d+)\s", output, re.MULTILINE)
    assert match, f"no row for {host} in the demo's per-host table:\n{output}"
    total, robots, pages = (int(group) for group in match.groups())
    return total, robots, pages


def test_demo_exits_zero(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, f"stdout:\n{demo.stdout}\nstderr:\n{demo.stderr}"
    assert "RESULT: OK" in demo.stdout


@pytest.mark.parametrize(
    "host", ["www.youtube.com", "twitter.com", "www.linkedin.com", "blocked.example"]
)
def test_covered_and_blocked_hosts_are_never_contacted(
    demo: subprocess.CompletedProcess[str], host: str
) -> None:
    assert _received(demo.stdout, host) == (0, 0, 0)


def test_robots_503_host_gets_only_robots_txt_requests(
    demo: subprocess.CompletedProcess[str],
) -> None:
    total, robots, pages = _received(demo.stdout, "flaky.example")
    assert pages == 0
    assert robots >= 1  # it was asked, and its 503 is what denied the pages


def test_allowed_hosts_are_crawled(demo: subprocess.CompletedProcess[str]) -> None:
    # The checks must not simply deny everything.
    for host in ["news.example", "partner.example", "open.example", "aisignals.example"]:
        assert _received(demo.stdout, host)[2] > 0, host


def test_audit_log_verifies(demo: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"^Verification: OK\b", demo.stdout, re.MULTILINE), demo.stdout
    match = re.search(r"^Audit log: (\S+)", demo.stdout, re.MULTILINE)
    assert match, demo.stdout
    assert Path(match.group(1)).is_file() or (REPO_ROOT / match.group(1)).is_file()


def test_ai_opt_out_refuses_the_ai_training_crawl_and_admits_search(
    demo: subprocess.CompletedProcess[str],
) -> None:
    main, _, ai = demo.stdout.partition("crawled for purpose ai-training")
    assert ai, demo.stdout
    # The search-indexing crawl fetched the site's pages ...
    assert _received(main, "aisignals.example")[2] > 0
    # ... the ai-training crawl asked for robots.txt only, and says why.
    assert _received(ai, "aisignals.example")[1:] == (1, 0)
    assert "'ai-train=no' in robots.txt line 2 refuses purpose" in " ".join(ai.split())


def test_site_whose_terms_changed_gets_only_its_terms_page_and_the_change_is_shown(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert _received(demo.stdout, "shop.example") == (1, 0, 1)  # /terms, nothing else
    text = " ".join(demo.stdout.split())  # the decisions table wraps long reasons
    assert "changed since review: + You may not use any robot, spider," in text
