"""Real crawls through scrapy-playwright and Debian's Chromium, on loopback only.

Chromium is launched with the loopback server as its proxy, so every HTTP
request the browser makes (pages, sub-resources, its own background traffic)
arrives at the server and is recorded there; name resolution is switched off
in the browser so nothing else can leave. Playwright's own HTTP client (behind
``route.fetch``) tunnels through the same proxy with CONNECT.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings

CHROMIUM = os.environ.get("COMPLIANCE_TEST_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


def require_chromium() -> None:
    """Skip without Chromium or scrapy-playwright, except on CI, where it is a failure."""
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"{CHROMIUM} (run tools/ensure-chromium.sh)")
    try:
        import scrapy_playwright  # noqa: F401
    except ImportError:
        missing.append("scrapy-playwright (pip install -e '.[browser]')")
    from crawler_compliance.scrapy._handlers import preconnect_policy_problem

    policy = preconnect_policy_problem()
    if policy:
        missing.append(f"the Chromium policy ({policy})")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def browser_settings(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, **extra: Any
) -> dict[str, Any]:
    settings = base_settings(
        policy_dir,
        audit_path,
        DOWNLOAD_HANDLERS={"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
        PLAYWRIGHT_LAUNCH_OPTIONS={
            "executable_path": CHROMIUM,
            "headless": True,
            "proxy": {"server": server.proxy},
            # Nothing resolved by the browser: the proxy (an IP literal) is the only way out.
            "args": ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        },
        PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT=15_000,
        DOWNLOAD_TIMEOUT=10,
        CONCURRENT_REQUESTS=4,
        LOG_LEVEL="INFO",
    )
    settings.update(extra)
    return settings
