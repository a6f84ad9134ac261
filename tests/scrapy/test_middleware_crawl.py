"""The middleware through real crawls against a real loopback server.

Every test here runs Scrapy for real (``get_crawler`` + ``crawl_async``) and
asserts what a user sees: which URLs the server received, which requests
failed and why, stats and audit records.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from crawler_compliance.audit import verify_log
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl

ROBOTS_NEWS = "User-agent: *\nDisallow: /private/\n"


def denial(result, url):
    [failure] = [f for f in result.spider.failures if f.request.url == url]
    assert failure.check(RequestDenied), failure
    return failure.value.decision


@deferred_f_from_coro_f
async def test_registry_denies_with_zero_requests_reaching_the_server(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("www.youtube.com", "/watch", body="video")
    server.route("twitter.com", "/someone", body="tweets")
    server.route("www.linkedin.com", "/in/someone", body="profile")
    urls = [
        "http://www.youtube.com/watch?v=1",
        "http://twitter.com/someone",
        "http://www.linkedin.com/in/someone",
        "http://WWW.YouTube.COM./watch?v=2",
    ]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)

    assert server.received == []  # not even robots.txt
    assert sorted(result.denied_urls) == sorted(
        [
            "http://www.youtube.com/watch?v=1",
            "http://twitter.com/someone",
            "http://www.linkedin.com/in/someone",
            "http://www.youtube.com./watch?v=2",
        ]
    )
    decision = denial(result, "http://www.youtube.com/watch?v=1")
    assert decision.deciding_check.value == "registry"
    assert any("google" in (r.rule or "") for r in decision.denying_reasons)
    assert result.stats["compliance/registry/denied"] == 4
    assert result.stats["compliance/denied"] == 4
    assert [r["verdict"] for r in result.records] == ["deny"] * 4
    assert verify_log(audit_path).ok


@deferred_f_from_coro_f
async def test_audit_record_exists_before_the_page_is_requested(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body=ROBOTS_NEWS)
    for n in range(5):
        server.route("news.example", f"/articles/{n}", body=f"article {n}")
    seen_in_log: dict[str, bool] = {}

    def check_log(received):
        if received.path == "/robots.txt":
            return
        lines = audit_path.read_text().splitlines()
        records = [json.loads(line) for line in lines]
        url = f"http://news.example{received.path}"
        seen_in_log[url] = any(r["url"] == url and r["verdict"] == "allow" for r in records)

    server.on_request = check_log
    urls = [f"http://news.example/articles/{n}" for n in range(5)]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)

    assert sorted(result.fetched_urls) == sorted(urls)
    assert seen_in_log == dict.fromkeys(urls, True)
    assert result.stats["compliance/allowed"] == 5


@deferred_f_from_coro_f
async def test_robots_disallow_denies_with_the_matching_line(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body=ROBOTS_NEWS)
    server.route("news.example", "/private/x", body="secret")
    server.route("news.example", "/articles/1", body="ok")
    urls = ["http://news.example/private/x", "http://news.example/articles/1"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)

    assert server.paths("news.example") == ["/robots.txt", "/articles/1"]
    decision = denial(result, "http://news.example/private/x")
    [reason] = decision.denying_reasons
    assert reason.check.value == "robots"
    assert reason.line == 2
    assert reason.rule == "Disallow: /private/"
    assert result.stats["compliance/robots/denied"] == 1


@pytest.mark.parametrize(
    ("route", "expected_status"),
    [
        ({"status": 503, "body": "down"}, "503"),
        ({"status": 500, "body": "oops"}, "500"),
        ({"status": 429, "body": "slow down"}, "429"),
        ({"status": 200, "body": "x" * 2_000_000}, "too-large"),
        ({"status": 200, "body": "User-agent: *\nAllow: /\n", "delay": 2.5}, "timeout"),
    ],
    ids=["503", "500", "429", "over-download-maxsize", "timeout"],
)
@deferred_f_from_coro_f
async def test_robots_fetch_failures_deny(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, route, expected_status
) -> None:
    server.route("flaky.example", "/robots.txt", **route)
    server.route("flaky.example", "/page", body="page")
    settings = base_settings(
        policy_dir, audit_path, DOWNLOAD_MAXSIZE=1_000_000, DOWNLOAD_TIMEOUT=1, RETRY_TIMES=1
    )
    result = await crawl(settings, ["http://flaky.example/page"], proxy=server.proxy)

    assert "/page" not in server.paths("flaky.example")
    decision = denial(result, "http://flaky.example/page")
    assert decision.deciding_check.value == "robots"
    assert decision.robots_status.startswith(expected_status), decision.robots_status
    # Every robots.txt request the server saw (retries included) was audited first.
    fetched = server.paths("flaky.example").count("/robots.txt")
    audited = len(result.decisions_for("http://flaky.example/robots.txt"))
    assert fetched == audited


@deferred_f_from_coro_f
async def test_connection_refused_denies(policy_dir: Path, audit_path: Path) -> None:
    with LoopbackServer() as closed:
        port = closed.port
    url = f"http://127.0.0.1:{port}/page"  # nothing listens there any more
    result = await crawl(base_settings(policy_dir, audit_path), [url])
    decision = denial(result, url)
    assert decision.robots_status.startswith("connection-error")


@deferred_f_from_coro_f
async def test_robots_404_allows_everything(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("open.example", "/anything", body="hello")
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://open.example/anything"], proxy=server.proxy
    )
    assert result.fetched_urls == ["http://open.example/anything"]
    assert result.records[-1]["robots_status"] == "404"


@pytest.mark.parametrize("hops", ["loop", "six"])
@deferred_f_from_coro_f
async def test_robots_redirect_loops_and_long_chains_deny(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, hops: str
) -> None:
    if hops == "loop":
        server.route("loop.example", "/robots.txt", status=301, location="/a")
        server.route("loop.example", "/a", status=301, location="/robots.txt")
    else:
        server.route("loop.example", "/robots.txt", status=302, location="/r1")
        for n in range(1, 7):
            server.route("loop.example", f"/r{n}", status=302, location=f"/r{n + 1}")
        server.route("loop.example", "/r7", body="User-agent: *\nAllow: /\n")
    server.route("loop.example", "/page", body="page")
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://loop.example/page"], proxy=server.proxy
    )
    assert "/page" not in server.paths("loop.example")
    decision = denial(result, "http://loop.example/page")
    assert decision.deciding_check.value == "robots"


@deferred_f_from_coro_f
async def test_robots_redirect_within_five_hops_is_followed(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route(
        "moved.example", "/robots.txt", status=301, location="http://www.moved.example/robots.txt"
    )
    server.route("www.moved.example", "/robots.txt", body="User-agent: *\nDisallow: /no\n")
    server.route("moved.example", "/yes", body="ok")
    urls = ["http://moved.example/yes", "http://moved.example/no"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert result.fetched_urls == ["http://moved.example/yes"]
    assert denial(result, "http://moved.example/no").deciding_check.value == "robots"
    # Each hop of our own fetch was decided and audited too.
    own = [r["url"] for r in result.records if r["url"].endswith("/robots.txt")]
    assert own == ["http://moved.example/robots.txt", "http://www.moved.example/robots.txt"]


@deferred_f_from_coro_f
async def test_robots_redirect_into_a_covered_host_is_not_followed(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route(
        "sneaky.example", "/robots.txt", status=302, location="http://www.youtube.com/robots.txt"
    )
    server.route("sneaky.example", "/page", body="page")
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://sneaky.example/page"], proxy=server.proxy
    )
    assert server.paths("www.youtube.com") == []
    assert "/page" not in server.paths("sneaky.example")
    assert denial(result, "http://sneaky.example/page").deciding_check.value == "robots"


class OffsiteSpider(ListSpider):
    allowed_domains = ["offsite.example"]


@deferred_f_from_coro_f
async def test_robots_redirect_offsite_would_drop_denies(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route(
        "offsite.example", "/robots.txt", status=302, location="http://elsewhere.example/robots.txt"
    )
    server.route("elsewhere.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("offsite.example", "/page", body="page")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://offsite.example/page"],
        proxy=server.proxy,
        spider_cls=OffsiteSpider,
    )
    assert server.paths("elsewhere.example") == []
    assert denial(result, "http://offsite.example/page").deciding_check.value == "robots"


@deferred_f_from_coro_f
async def test_robots_txt_goes_through_the_pages_proxy(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("proxied.example", "/robots.txt", body="User-agent: *\nDisallow: /no\n")
    server.route("proxied.example", "/yes", body="ok")
    urls = ["http://proxied.example/yes", "http://proxied.example/no"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert result.fetched_urls == ["http://proxied.example/yes"]
    robots_requests = [r for r in server.received if r.path == "/robots.txt"]
    assert [r.via_proxy for r in robots_requests] == [True]
    assert robots_requests[0].headers["User-Agent"].startswith("TestBot/1.0")


@deferred_f_from_coro_f
async def test_many_requests_to_one_origin_fetch_robots_once(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("busy.example", "/robots.txt", body="User-agent: *\nAllow: /\n", delay=0.3)
    urls = [f"http://busy.example/p{n}" for n in range(30)]
    for n in range(30):
        server.route("busy.example", f"/p{n}", body="x")
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert server.paths("busy.example").count("/robots.txt") == 1
    assert sorted(result.fetched_urls) == sorted(urls)


@deferred_f_from_coro_f
async def test_page_redirect_to_covered_host_is_decided_before_following(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("redirect.example", "/go", status=302, location="http://www.youtube.com/")
    server.route(
        "redirect.example",
        "/refresh",
        body=(
            '<html><head><meta http-equiv="refresh" content="0;url=http://twitter.com/x">'
            "</head></html>"
        ),
        headers={"Content-Type": "text/html"},
    )
    urls = ["http://redirect.example/go", "http://redirect.example/refresh"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert server.paths("www.youtube.com") == []
    assert server.paths("twitter.com") == []
    assert sorted(result.denied_urls) == ["http://twitter.com/x", "http://www.youtube.com/"]
    [followed] = result.decisions_for("http://www.youtube.com/")
    assert "redirected from http://redirect.example/go" in json.dumps(followed["reasons"])


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"meta": {"dont_obey_robotstxt": True}},
        {"meta": {"verbatim_url": True}},
        {"meta": {"_compliance_own": True}},
        {"headers": {"Host": "www.youtube.com"}},
    ],
    ids=["dont_obey_robotstxt", "verbatim_url", "forged-internal-flag", "host-header"],
)
@deferred_f_from_coro_f
async def test_no_bypass_channel(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, request_kwargs
) -> None:
    server.route("news.example", "/robots.txt", body=ROBOTS_NEWS)
    server.route("news.example", "/private/x", body="secret")
    server.route("www.youtube.com", "/", body="video")
    host_header = "headers" in request_kwargs
    url = "http://news.example/articles/1" if host_header else "http://www.youtube.com/"
    urls = [url, "http://news.example/private/x"]
    result = await crawl(
        base_settings(policy_dir, audit_path),
        urls,
        proxy=server.proxy,
        request_kwargs=request_kwargs,
    )
    assert server.paths("www.youtube.com") == []
    assert "/private/x" not in server.paths("news.example")
    assert sorted(result.denied_urls) == sorted(urls)


@deferred_f_from_coro_f
async def test_site_records_block_and_permit(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    (policy_dir / "sites" / "partner.yaml").write_text(
        "id: partner\ndomains: [partner.example]\npermissions:\n"
        "  - agreement: DPA-2026-001\n    expires: 2099-01-01\n"
    )
    (policy_dir / "sites" / "blocked.yaml").write_text(
        "id: blocked\ndomains: [blocked.example]\nblock:\n  reason: legal hold\n"
    )
    server.route("partner.example", "/robots.txt", body="User-agent: *\nDisallow: /\n")
    server.route("partner.example", "/data", body="data")
    server.route("blocked.example", "/x", body="x")
    urls = ["http://partner.example/data", "http://blocked.example/x"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert result.fetched_urls == ["http://partner.example/data"]
    assert server.paths("partner.example") == ["/data"]  # permission: robots.txt not consulted
    assert server.paths("blocked.example") == []
    assert denial(result, "http://blocked.example/x").deciding_check.value == "site"
    [allow] = result.decisions_for("http://partner.example/data")
    assert "DPA-2026-001" in json.dumps(allow["reasons"])


@deferred_f_from_coro_f
async def test_internal_error_denies_and_the_crawl_goes_on(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, monkeypatch, caplog
) -> None:
    from crawler_compliance._checker import ComplianceChecker

    original = ComplianceChecker.robots_reasons

    def flaky(self, canonical, robots):
        if canonical.path == "/boom":
            raise RuntimeError("kaboom")
        return original(self, canonical, robots)

    monkeypatch.setattr(ComplianceChecker, "robots_reasons", flaky)
    server.route("open.example", "/boom", body="x")
    server.route("open.example", "/fine", body="y")
    urls = ["http://open.example/boom", "http://open.example/fine"]
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    assert result.fetched_urls == ["http://open.example/fine"]
    assert denial(result, "http://open.example/boom").deciding_check.value == "internal-error"
    assert "kaboom" in caplog.text
    assert result.stats["compliance/internal-error/denied"] == 1


def page_times(server: LoopbackServer) -> dict[str, list[float]]:
    """Arrival time of every page request (not robots.txt), per host, as the server saw it."""
    times: dict[str, list[float]] = {}

    def note(received) -> None:
        if received.path != "/robots.txt":
            times.setdefault(received.host, []).append(time.monotonic())

    server.on_request = note
    return times


def gaps(arrivals: list[float]) -> list[float]:
    return [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]


# Arrival times are taken by the server's threads on a shared 2-core machine:
# a thread woken late shortens the next gap it measures. The middleware adds
# a 50 ms margin to every delay; the tests allow 5 % of the delay on top.
JITTER = 0.05


@deferred_f_from_coro_f
async def test_crawl_delay_is_honoured(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("slow.example", "/robots.txt", body="User-agent: *\nCrawl-delay: 0.4\n")
    urls = [f"http://slow.example/p{n}" for n in range(4)]
    for n in range(4):
        server.route("slow.example", f"/p{n}", body="x")
    times = page_times(server)
    # A spider that spreads one origin over many download slots gains nothing.
    result = await crawl(
        base_settings(policy_dir, audit_path, DOWNLOAD_DELAY_JITTER=0.9),
        urls,
        proxy=server.proxy,
        spider_cls=SlotSpreadingSpider,
    )
    assert len(result.spider.failures) == 0
    assert len(times["slow.example"]) == 4
    assert min(gaps(times["slow.example"])) >= 0.4 * (1 - JITTER)


class SlotSpreadingSpider(ListSpider):
    def make(self, url: str):
        request = super().make(url)
        request.meta["download_slot"] = f"slot-{url}"
        return request


@deferred_f_from_coro_f
async def test_crawl_delay_survives_more_interleaved_origins_than_the_cache_holds(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    hosts = [f"h{n}.example" for n in range(4)]
    for host in hosts:
        server.route(host, "/robots.txt", body="User-agent: *\nCrawl-delay: 0.5\n")
        for n in range(3):
            server.route(host, f"/p{n}", body="x")
    urls = [f"http://{host}/p{n}" for n in range(3) for host in hosts]
    times = page_times(server)
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_ROBOTS_CACHE_SIZE=1)
    result = await crawl(settings, urls, proxy=server.proxy)
    assert not result.spider.failures
    for host in hosts:
        assert len(times[host]) == 3
        assert min(gaps(times[host])) >= 0.5 * (1 - JITTER), host


@deferred_f_from_coro_f
async def test_robots_cache_is_bounded_and_refetches_evicted_origins(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    urls = ["http://a.example/1", "http://b.example/1", "http://a.example/2"]
    settings = base_settings(
        policy_dir, audit_path, COMPLIANCE_ROBOTS_CACHE_SIZE=1, CONCURRENT_REQUESTS=1
    )
    await crawl(settings, urls, proxy=server.proxy)
    assert server.paths("a.example").count("/robots.txt") == 2


@deferred_f_from_coro_f
async def test_checkpoint_in_stats_matches_the_log(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("open.example", "/", body="home")
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://open.example/"], proxy=server.proxy
    )
    assert result.fetched_urls == ["http://open.example/"]
    last = result.records[-1]
    assert result.stats["compliance/audit/last_seq"] == last["seq"]
    assert result.stats["compliance/audit/last_hash"] == last["hash"]
    assert verify_log(audit_path, f"{last['seq']}:{last['hash']}").ok
    assert audit_path.stat().st_mode & 0o777 == 0o600


class LoopbackOnlyResolver:
    """A resolver that knows only loopback: every other name fails, offline."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def getHostByName(self, name, timeout=()):  # noqa: N802 (Twisted's interface)
        from twisted.internet import defer
        from twisted.internet.error import DNSLookupError

        self.asked.append(name)
        if name in ("localhost", "127.0.0.1"):
            return defer.succeed("127.0.0.1")
        return defer.fail(DNSLookupError(name))


@deferred_f_from_coro_f
async def test_dns_error_denies(policy_dir: Path, audit_path: Path) -> None:
    from twisted.internet import reactor
    from twisted.internet.interfaces import IResolverSimple
    from zope.interface import directlyProvides

    resolver = LoopbackOnlyResolver()
    directlyProvides(resolver, IResolverSimple)
    previous = reactor.installResolver(resolver)
    try:
        result = await crawl(
            base_settings(policy_dir, audit_path, RETRY_TIMES=0),
            ["http://no-such-host.invalid/page"],
        )
    finally:
        reactor.installResolver(previous)
    assert resolver.asked == ["no-such-host.invalid"]  # no real DNS query was made
    decision = denial(result, "http://no-such-host.invalid/page")
    assert decision.deciding_check.value == "robots"
    assert decision.robots_status == "dns-error"


@deferred_f_from_coro_f
async def test_denials_are_logged_once_per_host_and_check_at_info(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="crawler_compliance")
    urls = [f"http://www.youtube.com/watch?v={n}" for n in range(3)]
    await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)
    denials = [r for r in caplog.records if r.getMessage().startswith("Denied by crawler")]
    assert [r.levelname for r in denials] == ["INFO", "DEBUG", "DEBUG"]
