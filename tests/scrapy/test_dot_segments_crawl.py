"""Hole 4 in a real crawl: encoded dot segments never reach a disallowed path."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl

ESCAPES = [
    "/public/..%2Fprivate/x",
    "/public/%2e%2e%2fprivate/x",
    "/public/..%5Cprivate/x",
    "/public/%2E%2e/private/x",
    "/public/..;/private/x",
    "/public/%252e%252e%252fprivate/x",
]


@deferred_f_from_coro_f
async def test_encoded_dot_segments_are_denied_before_the_server_sees_them(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body="User-agent: *\nDisallow: /private/\n")
    server.route("news.example", "/public/ok", body="ok")
    urls = [f"http://news.example{path}" for path in ESCAPES] + ["http://news.example/public/ok"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)

    assert sorted(server.paths("news.example")) == ["/public/ok", "/robots.txt"]
    assert result.fetched_urls == ["http://news.example/public/ok"]
    assert len(result.spider.failures) == len(ESCAPES)
    for failure in result.spider.failures:
        assert failure.check(RequestDenied)
        [reason] = failure.value.decision.denying_reasons
        assert reason.rule == "Disallow: /private/"
    denied = [r for r in result.records if r["verdict"] == "deny"]
    assert len(denied) == len(ESCAPES)
