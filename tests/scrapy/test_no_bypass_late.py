"""Changes made after the decision by other middlewares, and failures inside ours.

Found by an adversarial review: each test is a crawl that reached (or hung on)
a covered host before the guard and the fixes it prompted.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl


class MirrorRewriter:
    """A typical URL-rewriting middleware: mirror.example is served by YouTube."""

    def process_request(self, request, spider=None):
        if "mirror.example" in request.url:
            return request.replace(url=request.url.replace("mirror.example", "www.youtube.com"))
        return None


@deferred_f_from_coro_f
async def test_a_middleware_replacing_our_robots_fetch_is_decided_again(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    settings = base_settings(
        policy_dir, audit_path, DOWNLOADER_MIDDLEWARES={f"{__name__}.MirrorRewriter": 500}
    )
    result = await crawl(settings, ["http://mirror.example/watch"], proxy=server.proxy)
    assert server.paths("www.youtube.com") == []
    assert server.paths("mirror.example") == []
    youtube = [r for r in result.records if "youtube" in r["url"]]
    assert youtube and all(r["verdict"] == "deny" for r in youtube)


@deferred_f_from_coro_f
async def test_a_host_header_added_later_is_caught_by_the_guard(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    settings = base_settings(
        policy_dir, audit_path, DEFAULT_REQUEST_HEADERS={"Host": "www.youtube.com"}
    )
    url = server.url("/watch")
    result = await crawl(settings, [url])
    assert server.paths("www.youtube.com") == []
    assert result.denied_urls == [url]


class MoveInPlace:
    def process_request(self, request, spider=None):
        if request.url.endswith("/swap"):
            request._set_url("http://www.youtube.com/")


@deferred_f_from_coro_f
async def test_a_url_changed_in_place_is_caught_by_the_guard(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    settings = base_settings(
        policy_dir, audit_path, DOWNLOADER_MIDDLEWARES={f"{__name__}.MoveInPlace": 500}
    )
    result = await crawl(settings, ["http://open.example/swap"], proxy=server.proxy)
    assert server.paths("www.youtube.com") == []
    [failure] = result.spider.failures
    assert failure.check(RequestDenied)
    assert "changed after it was decided" in failure.value.decision.summary()


@deferred_f_from_coro_f
async def test_a_proxy_on_a_covered_address_is_denied(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    (policy_dir / "notices" / "loopback.yaml").write_text(
        "id: loopback-test\nissuer: {name: Test}\nreceived: 2020-01-01\nstatus: active\n"
        "scopes:\n  - label: loopback\n    kind: named-service\n    addresses: [127.0.0.1]\n"
    )
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://news.example/a"], proxy=server.proxy
    )
    assert server.received == []
    assert result.spider.failures[0].value.decision.deciding_check.value == "registry"


@deferred_f_from_coro_f
async def test_a_gzip_bomb_robots_txt_is_refused_not_inflated(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    bomb = gzip.compress(b"User-agent: *\nAllow: /\n" + b"#" * (8 * 1024 * 1024))
    server.route("bomb.example", "/robots.txt", body=bomb, headers={"Content-Encoding": "gzip"})
    server.route("bomb.example", "/page", body="page")
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://bomb.example/page"], proxy=server.proxy
    )
    assert "/page" not in server.paths("bomb.example")
    decision = result.spider.failures[0].value.decision
    assert decision.robots_status == "too-large"


@deferred_f_from_coro_f
async def test_an_error_after_the_robots_fetch_releases_every_waiter(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, monkeypatch
) -> None:
    from crawler_compliance.robots import RobotsCache

    original = RobotsCache.put
    calls = []

    def broken_once(self, origin, result):
        calls.append(origin)
        if len(calls) == 1:
            raise RuntimeError("cache broke")
        return original(self, origin, result)

    monkeypatch.setattr(RobotsCache, "put", broken_once)
    server.route("busy.example", "/robots.txt", body="User-agent: *\nAllow: /\n", delay=0.3)
    urls = [f"http://busy.example/p{n}" for n in range(10)]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert sorted(result.denied_urls) == sorted(urls)  # denied, and the crawl ended
    assert not any(p.startswith("/p") for p in server.paths("busy.example"))


class EvilAgentSpider(ListSpider):
    user_agent = "EvilBot/1.0"


@deferred_f_from_coro_f
async def test_robots_txt_is_matched_for_the_spiders_user_agent(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("ua.example", "/robots.txt", body="User-agent: EvilBot\nDisallow: /\n")
    server.route("ua.example", "/x", body="x")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://ua.example/x"],
        proxy=server.proxy,
        spider_cls=EvilAgentSpider,
    )
    assert server.paths("ua.example") == ["/robots.txt"]
    assert result.spider.failures[0].value.decision.deciding_check.value == "robots"
    robots_fetch = [r for r in server.received if r.path == "/robots.txt"][0]
    assert robots_fetch.headers["User-Agent"] == "EvilBot/1.0"


class RotateUserAgent:
    """A UA-rotating middleware (runs after the decision, before the guard)."""

    def process_request(self, request, spider=None):
        request.headers[b"User-Agent"] = b"Rotated/9.9"


@deferred_f_from_coro_f
async def test_a_user_agent_changed_after_the_decision_is_denied_by_the_guard(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("open.example", "/x", body="x")
    settings = base_settings(
        policy_dir, audit_path, DOWNLOADER_MIDDLEWARES={f"{__name__}.RotateUserAgent": 600}
    )
    result = await crawl(settings, ["http://open.example/x"], proxy=server.proxy)
    assert server.received == []  # not even robots.txt: its UA was rotated too
    assert result.denied_urls == ["http://open.example/x"]
    guard_denials = [r for r in result.records if "User-Agent 'Rotated'" in str(r["reasons"])]
    assert guard_denials and all(r["verdict"] == "deny" for r in guard_denials)


@deferred_f_from_coro_f
async def test_a_request_with_another_user_agent_is_denied(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("ua.example", "/robots.txt", body="User-agent: EvilBot\nDisallow: /\n")
    server.route("ua.example", "/x", body="x")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://ua.example/x"],
        proxy=server.proxy,
        request_kwargs={"headers": {"User-Agent": "EvilBot/1.0"}},
    )
    assert "/x" not in server.paths("ua.example")
    assert "User-Agent 'EvilBot'" in result.spider.failures[0].value.decision.summary()
