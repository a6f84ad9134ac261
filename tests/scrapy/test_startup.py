"""Start-up: the add-on, the settings, and a crawl that must not start unchecked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler

from crawler_compliance.policy import PolicyError
from crawler_compliance.scrapy import ComplianceConfigError
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl


@deferred_f_from_coro_f
async def test_invalid_policy_stops_the_crawl_with_located_errors(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    (policy_dir / "policy.yaml").write_text("version: 1\ncrawler:\n  purpse: research\n")
    with pytest.raises(PolicyError):
        await crawl(
            base_settings(policy_dir, audit_path), ["http://open.example/"], proxy=server.proxy
        )
    assert server.received == []
    assert "policy.yaml:3:3" in caplog.text


@deferred_f_from_coro_f
async def test_missing_policy_dir_setting_stops_the_crawl(
    server: LoopbackServer, audit_path: Path
) -> None:
    settings = base_settings(Path("unused"), audit_path)
    del settings["COMPLIANCE_POLICY_DIR"]
    with pytest.raises(ComplianceConfigError, match="COMPLIANCE_POLICY_DIR"):
        await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert server.received == []


@deferred_f_from_coro_f
async def test_switching_off_is_honoured_but_audited(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    server.route("open.example", "/", body="home")
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_ENABLED=False)
    result = await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert result.fetched_urls == ["http://open.example/"]
    [record] = result.records
    assert "disabled by COMPLIANCE_ENABLED=False" in record["reasons"][0]["message"]
    assert "project priority" in record["reasons"][0]["message"]
    assert "compliance checks disabled" in caplog.text


def test_addon_registers_the_middleware_before_scrapys_robots_middleware(
    policy_dir: Path, audit_path: Path
) -> None:
    settings = base_settings(policy_dir, audit_path)
    settings["DOWNLOADER_MIDDLEWARES"] = {"crawler_compliance.ComplianceMiddleware": None}
    crawler = get_crawler(ListSpider, settings)
    crawler._apply_settings()
    middlewares = crawler.settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    ours = [v for k, v in middlewares.items() if "ComplianceMiddleware" in str(k)]
    guard = [v for k, v in middlewares.items() if "ComplianceGuardMiddleware" in str(k)]
    assert (ours, guard) == ([75], [990])
    assert ours[0] < middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]


@deferred_f_from_coro_f
async def test_listing_the_middleware_by_hand_works(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    settings = base_settings(policy_dir, audit_path)
    del settings["ADDONS"]
    settings["DOWNLOADER_MIDDLEWARES"] = {"crawler_compliance.ComplianceMiddleware": 75}
    result = await crawl(settings, ["http://www.youtube.com/"], proxy=server.proxy)
    assert server.received == []
    assert json.loads(audit_path.read_text().splitlines()[0])["verdict"] == "deny"
    assert result.stats["compliance/registry/denied"] == 1


@deferred_f_from_coro_f
async def test_product_token_comes_from_user_agent_and_a_mismatch_is_warned(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    server.route("open.example", "/robots.txt", body="User-agent: Scrapy\nDisallow: /\n")
    settings = base_settings(policy_dir, audit_path, USER_AGENT="Scrapy/2.19 (+https://scrapy.org)")
    result = await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert "crawler.product_token is 'TestBot'" in caplog.text
    assert result.records[-1]["verdict"] == "deny"  # matched for Scrapy, the name sent
    assert server.paths("open.example") == ["/robots.txt"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COMPLIANCE_AUDIT_FSYNC_EVERY", 0),
        ("COMPLIANCE_AUDIT_FSYNC_INTERVAL", -1),
        ("COMPLIANCE_AUDIT_MAX_BYTES", -5),
        ("COMPLIANCE_PURPOSE", "scraping"),
        ("COMPLIANCE_ROBOTS_CACHE_SIZE", 0),
        ("COMPLIANCE_SUFFIX_LIST", "/nonexistent/psl.dat"),
    ],
)
@deferred_f_from_coro_f
async def test_invalid_settings_stop_the_crawl_naming_the_setting(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, name: str, value: object
) -> None:
    settings = base_settings(policy_dir, audit_path, **{name: value})
    with pytest.raises(ComplianceConfigError, match=name):
        await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert server.received == []


@deferred_f_from_coro_f
async def test_a_torn_audit_log_stops_the_crawl_with_a_clear_error(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    from crawler_compliance.audit import AuditLogError

    audit_path.parent.mkdir(parents=True)
    audit_path.write_text('{"v":1,"seq":1')  # a crash mid-write
    with pytest.raises(AuditLogError):
        await crawl(
            base_settings(policy_dir, audit_path), ["http://open.example/"], proxy=server.proxy
        )
    assert server.received == []
    assert "the crawl will not start" in caplog.text


@deferred_f_from_coro_f
async def test_compliance_user_agent_chooses_the_robots_group_without_blocking_the_crawl(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    server.route("open.example", "/robots.txt", body="User-agent: TestBot\nDisallow: /no\n")
    server.route("open.example", "/yes", body="ok")
    settings = base_settings(
        policy_dir, audit_path, COMPLIANCE_USER_AGENT="TestBot", USER_AGENT="Other/2.0"
    )
    urls = ["http://open.example/yes", "http://open.example/no"]
    result = await crawl(settings, urls, proxy=server.proxy)
    assert result.fetched_urls == ["http://open.example/yes"]
    assert "sends the token 'Other'" in caplog.text
    robots_fetch = [r for r in server.received if r.path == "/robots.txt"][0]
    assert robots_fetch.headers["User-Agent"] == "Other/2.0"  # what the crawl really sends


@deferred_f_from_coro_f
async def test_switching_off_without_an_audit_setting_uses_the_default_log(
    server: LoopbackServer, policy_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    server.route("open.example", "/", body="home")
    settings = base_settings(policy_dir, tmp_path / "unused.jsonl", COMPLIANCE_ENABLED=False)
    del settings["COMPLIANCE_AUDIT_LOG"]
    await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    [record] = [
        json.loads(x) for x in (tmp_path / "compliance-audit.jsonl").read_text().splitlines()
    ]
    assert "disabled by COMPLIANCE_ENABLED=False" in record["reasons"][0]["message"]
