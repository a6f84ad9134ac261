"""scrapy-impersonate: it fetches only the request it is given, so that request is decided.

Its handler sends exactly the Scrapy request through curl_cffi with redirects
off (a redirect comes back to RedirectMiddleware and is decided as a new
request). The two meta keys that could change that after the decision are
denied: ``impersonate_args`` that name the URL, its query, redirects or a
proxy, and raw ``impersonate_curl_options``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl

pytest.importorskip("scrapy_impersonate")
IMPERSONATE = "scrapy_impersonate.ImpersonateDownloadHandler"


class ImpersonatingSpider(ListSpider):
    name = "impersonating"

    def make(self, url: str):  # type: ignore[no-untyped-def]
        request = super().make(url)
        request.meta["impersonate"] = "chrome"
        if url.endswith("/follow"):
            request.meta["impersonate_args"] = {"allow_redirects": True}
        if url.endswith("/curl"):
            request.meta["impersonate_curl_options"] = {"FOLLOWLOCATION": 1}
        if url.endswith("/timeout"):
            request.meta["impersonate_args"] = {"timeout": 5}
        return request


@deferred_f_from_coro_f
async def test_every_request_scrapy_impersonate_sends_was_decided(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body="User-agent: *\nDisallow: /private/\n")
    server.route("news.example", "/article", body="article")
    server.route("news.example", "/timeout", body="safe impersonate_args")
    server.route("news.example", "/moved", status=302, location="http://twitter.com/x")
    server.route("news.example", "/follow", status=302, location="http://twitter.com/y")
    server.route("news.example", "/curl", status=302, location="http://twitter.com/z")
    settings = base_settings(
        policy_dir,
        audit_path,
        DOWNLOAD_HANDLERS={"http": IMPERSONATE, "https": IMPERSONATE},
    )
    result = await crawl(
        settings,
        [
            "http://news.example/article",
            "http://news.example/timeout",
            "http://news.example/private/x",
            "http://www.youtube.com/watch",
            "http://news.example/moved",
            "http://news.example/follow",
            "http://news.example/curl",
        ],
        proxy=server.proxy,
        spider_cls=ImpersonatingSpider,
    )

    assert sorted(result.fetched_urls) == [
        "http://news.example/article",
        "http://news.example/timeout",
    ]
    assert all("impersonate" in r.flags for r in result.spider.responses)
    received = [(r.host, r.path) for r in server.received]
    assert [h for h, _ in received if h.endswith(("twitter.com", "youtube.com"))] == []
    assert ("news.example", "/private/x") not in received
    assert ("news.example", "/follow") not in received  # denied before it was sent
    assert ("news.example", "/curl") not in received
    assert ("news.example", "/moved") in received  # its redirect was decided, and denied
    denied = {f.request.url: f for f in result.spider.failures}
    assert set(denied) == {
        "http://news.example/private/x",
        "http://www.youtube.com/watch",
        "http://twitter.com/x",
        "http://news.example/follow",
        "http://news.example/curl",
    }
    assert all(f.check(RequestDenied) for f in denied.values())
    assert "allow_redirects" in str(denied["http://news.example/follow"].value)
    assert "impersonate_curl_options" in str(denied["http://news.example/curl"].value)
    verdicts = {(r["url"], r["verdict"]) for r in result.records}
    assert ("http://news.example/follow", "deny") in verdicts
    assert ("http://twitter.com/x", "deny") in verdicts
