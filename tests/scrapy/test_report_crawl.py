"""The report of a real crawl keeps Scrapy's own robots.txt requests apart from pages."""

from __future__ import annotations

from pathlib import Path

from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance.audit import iter_records
from crawler_compliance.report import build_report
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl


@deferred_f_from_coro_f
async def test_robotstxt_obey_requests_are_not_counted_as_pages(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    # Direct to 127.0.0.1: RobotsTxtMiddleware's request would not carry a spider's proxy.
    server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("127.0.0.1", "/a", body="a")
    server.route("127.0.0.1", "/b", body="b")
    settings = base_settings(policy_dir, audit_path, ROBOTSTXT_OBEY=True)
    await crawl(settings, [server.url("/a"), server.url("/b")])
    report = build_report(str(audit_path), iter_records(audit_path))
    totals = report.totals()
    assert totals["pages"] == 2 and report.pages["allow"] == 2
    assert totals["own-fetches"] >= 1  # our own robots.txt fetch, checked first
    assert totals["scrapy-robots"] == 1  # RobotsTxtMiddleware's duplicate request
