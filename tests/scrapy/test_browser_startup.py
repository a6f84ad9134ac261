"""Start-up with download handlers that fetch through their own clients.

A crawl whose browser could fetch undecided never starts: each refusal names
the setting. No browser is launched by these tests (the crawl stops first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance.scrapy import Addon, ComplianceConfigError
from crawler_compliance.scrapy._handlers import BROWSER_ARGS, preconnect_policy_problem
from tests.loopback import LoopbackServer
from tests.scrapy.browser import PLAYWRIGHT_HANDLER
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl

pytest.importorskip("scrapy_playwright")


class OwnClientHandler(HTTP11DownloadHandler):
    """A third-party handler crawler-compliance knows nothing about."""


OWN_CLIENT = f"{__name__}.OwnClientHandler"


def playwright_settings(policy_dir: Path, audit_path: Path, **extra: Any) -> dict[str, Any]:
    settings = base_settings(
        policy_dir,
        audit_path,
        DOWNLOAD_HANDLERS={"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
        PLAYWRIGHT_LAUNCH_OPTIONS={"executable_path": "/usr/bin/chromium"},
    )
    settings.update(extra)
    return settings


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"PLAYWRIGHT_CDP_URL": "http://127.0.0.1:9222"}, "PLAYWRIGHT_CDP_URL"),
        ({"PLAYWRIGHT_CONNECT_URL": "ws://127.0.0.1:3000/"}, "PLAYWRIGHT_CONNECT_URL"),
        ({"PLAYWRIGHT_BROWSER_TYPE": "firefox"}, "PLAYWRIGHT_BROWSER_TYPE = 'firefox'"),
        (
            {"PLAYWRIGHT_BROWSER_PROVIDER": f"{__name__}.OwnClientHandler"},
            "PLAYWRIGHT_BROWSER_PROVIDER",
        ),
        (
            {"PLAYWRIGHT_CONTEXTS": {"default": {"service_workers": "allow"}}},
            "PLAYWRIGHT_CONTEXTS['default'] sets service_workers='allow'",
        ),
        (
            {"PLAYWRIGHT_LAUNCH_OPTIONS": {"ignore_default_args": True}},
            "PLAYWRIGHT_LAUNCH_OPTIONS sets ignore_default_args=True",
        ),
        (
            {
                "PLAYWRIGHT_LAUNCH_OPTIONS": {
                    "ignore_default_args": ["--disable-background-networking"]
                }
            },
            "PLAYWRIGHT_LAUNCH_OPTIONS drops --disable-background-networking",
        ),
        (
            {
                "PLAYWRIGHT_CONTEXTS": {
                    "persistent": {"user_data_dir": "/tmp/x", "ignore_default_args": True}
                }
            },
            "PLAYWRIGHT_CONTEXTS['persistent'] sets ignore_default_args=True",
        ),
    ],
)
@deferred_f_from_coro_f
async def test_settings_that_would_let_the_browser_fetch_undecided_stop_the_crawl(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog, extra, named
) -> None:
    settings = playwright_settings(policy_dir, audit_path, **extra)
    with pytest.raises(ComplianceConfigError) as raised:
        await crawl(settings, ["http://news.example/"], proxy=server.proxy)
    assert named in str(raised.value)
    assert "the crawl will not start" in caplog.text
    assert server.received == []


@deferred_f_from_coro_f
async def test_an_unknown_handler_is_refused_unless_the_project_vouches_for_it(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("news.example", "/", body="home")
    settings = base_settings(policy_dir, audit_path, DOWNLOAD_HANDLERS={"http": OWN_CLIENT})
    with pytest.raises(ComplianceConfigError) as raised:
        await crawl(settings, ["http://news.example/"], proxy=server.proxy)
    assert f"DOWNLOAD_HANDLERS['http'] = '{OWN_CLIENT}'" in str(raised.value)
    assert "COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS" in str(raised.value)
    assert server.received == []
    [record] = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert record["verdict"] == "deny"
    assert "crawl not started" in record["reasons"][0]["message"]

    settings["COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS"] = [OWN_CLIENT]
    result = await crawl(settings, ["http://news.example/"], proxy=server.proxy)
    assert result.fetched_urls == ["http://news.example/"]


def project_predicate(request: Any) -> bool:
    return False


def test_the_addon_composes_the_projects_playwright_settings() -> None:
    settings = Settings(
        {
            "DOWNLOAD_HANDLERS": {"https": PLAYWRIGHT_HANDLER},
            "PLAYWRIGHT_LAUNCH_OPTIONS": {"args": ["--lang=de"], "headless": True},
            "PLAYWRIGHT_CONTEXTS": {"default": {"locale": "de-DE"}},
            "PLAYWRIGHT_ABORT_REQUEST": project_predicate,
        },
        priority="project",
    )
    Addon().update_settings(settings)
    options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert options["headless"] is True
    assert options["args"][0] == "--lang=de"
    assert set(BROWSER_ARGS) <= set(options["args"])
    assert settings.getdict("PLAYWRIGHT_CONTEXTS") == {
        "default": {"locale": "de-DE", "service_workers": "block"}
    }
    backstop = settings["PLAYWRIGHT_ABORT_REQUEST"]
    assert backstop.user_predicate is project_predicate  # composed, never replaced


def test_chromium_preconnects_must_be_switched_off_by_policy(tmp_path: Path) -> None:
    problem = preconnect_policy_problem(str(tmp_path))
    assert problem is not None and "NetworkPredictionOptions" in problem
    (tmp_path / "other.json").write_text(json.dumps({"NetworkPredictionOptions": 1}))
    assert preconnect_policy_problem(str(tmp_path)) is not None
    (tmp_path / "crawler-compliance.json").write_text(json.dumps({"NetworkPredictionOptions": 2}))
    assert preconnect_policy_problem(str(tmp_path)) is None
