"""The demo through scrapy-playwright: ``python -m examples.demo --browser``.

Every page is rendered by Chromium; the stand-in web's article embeds a
YouTube player, Twitter and LinkedIn images, a tracker on a disallowed path
and an XHR to Twitter. The per-host table must still show zero requests to
every covered host, sub-resources included.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scrapy.browser import CHROMIUM, require_chromium

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.crawl, pytest.mark.browser]


def test_the_rendered_demo_contacts_no_covered_host(tmp_path: Path) -> None:
    require_chromium()
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.demo",
            "--browser",
            "--chromium",
            CHROMIUM,
            "--output-dir",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for host in ("www.youtube.com", "twitter.com", "www.linkedin.com", "blocked.example"):
        row = re.search(rf"^{re.escape(host)}\s+(\d+)\s", demo.stdout, re.MULTILINE)
        assert row and row.group(1) == "0", demo.stdout
    match = re.search(
        r"browser made for rendered pages: (\d+) \((\d+) allowed, (\d+) denied", demo.stdout
    )
    assert match, demo.stdout
    total, allowed, denied = map(int, match.groups())
    assert (allowed, denied) == (1, 5)  # the article's own photo; the five embeds
