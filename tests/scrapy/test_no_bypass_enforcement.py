"""Holes an adversarial review found in real crawls (issue 7), each closed and kept closed.

Every test is a real crawl against the loopback server in which the spider,
a header, another middleware or Scrapy's HTTP cache tries to get a request
past a check; the assertions are on what the server received and what the
audit log says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl

ROBOTS = "User-agent: *\nDisallow: /private/\n"


def _candidates(value: Any, depth: int = 0) -> list[Any]:
    """Every object reachable from a meta value: what a forging spider could copy."""
    found = [value]
    if depth < 3:
        if isinstance(value, (tuple, list, set, frozenset)):
            for item in value:
                found.extend(_candidates(item, depth + 1))
        elif isinstance(value, dict):
            for item in value.values():
                found.extend(_candidates(item, depth + 1))
    return found


class ForgingSpider(ListSpider):
    """Copies whatever the middleware left in response.meta into its own requests.

    Each forged request goes to a path robots.txt disallows, carrying one
    object found in the allowed response's meta under every internal key
    the middleware has used.
    """

    def parse(self, response: scrapy.http.Response):  # type: ignore[override]
        self.responses.append(response)
        if "/private/" in response.url:
            return
        objects = [v for value in response.meta.values() for v in _candidates(value)]
        objects.append(object())
        for n, mark in enumerate(objects):
            meta = dict(response.meta)
            meta.update({"_compliance_own": mark, "_compliance_decided": mark})
            yield scrapy.Request(
                f"http://news.example/private/{n}",
                meta=meta,
                callback=self.parse,
                errback=self.failed,
                dont_filter=True,
            )


@deferred_f_from_coro_f
async def test_a_spider_cannot_forge_the_own_fetch_mark(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/", body="home")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://news.example/"],
        proxy=server.proxy,
        spider_cls=ForgingSpider,
    )
    assert server.paths("news.example") == ["/robots.txt", "/"]
    assert result.spider.failures
    for failure in result.spider.failures:
        assert failure.check(RequestDenied)
        assert failure.value.decision.deciding_check.value == "robots"
    forged = [r for r in result.records if "/private/" in r["url"]]
    assert forged and all(r["verdict"] == "deny" for r in forged)
    assert not any("fetch by crawler-compliance" in str(r["reasons"]) for r in forged)


@pytest.mark.parametrize(
    "host_header",
    [
        "www.youtube.com:80@open.example",
        "www.youtube.com@open.example",
        "open.example, www.youtube.com",
        "open.example/www.youtube.com",
        "open.example www.youtube.com",
        "",
    ],
)
@deferred_f_from_coro_f
async def test_a_host_header_outside_rfc_9110_is_ambiguous_and_denied(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, host_header: str
) -> None:
    url = server.url("/watch")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        [url],
        request_kwargs={"headers": {"Host": host_header}},
    )
    assert server.received == []
    [failure] = result.spider.failures
    assert failure.check(RequestDenied)
    assert "ambiguous" in failure.value.decision.summary()


@deferred_f_from_coro_f
async def test_two_host_headers_are_ambiguous(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    url = server.url("/watch")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        [url],
        request_kwargs={"headers": {"Host": ["open.example", "www.youtube.com"]}},
    )
    assert server.received == []
    assert "ambiguous" in result.spider.failures[0].value.decision.summary()


@deferred_f_from_coro_f
async def test_a_host_header_vhost_is_decided_in_full_site_records_and_its_robots(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    (policy_dir / "sites" / "blocked.yaml").write_text(
        "id: blocked-vhost\ndomains: [blocked.example]\nblock:\n  reason: legal said no\n"
    )
    # open.example allows everything; vhost.example (same server) disallows /private/.
    server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("vhost.example", "/robots.txt", body=ROBOTS)
    server.route("vhost.example", "/private/x", body="secret")
    server.route("vhost.example", "/public", body="public")
    server.route("blocked.example", "/page", body="blocked")
    urls = [server.url("/private/x"), server.url("/public"), server.url("/page")]
    hosts = {"/private/x": "vhost.example", "/public": "vhost.example", "/page": "blocked.example"}

    class VhostSpider(ListSpider):
        def make(self, url: str) -> scrapy.Request:
            request = super().make(url)
            request.headers["Host"] = hosts[url.split(str(server.port), 1)[1]]
            return request

    result = await crawl(base_settings(policy_dir, audit_path), urls, spider_cls=VhostSpider)
    assert "/private/x" not in server.paths("vhost.example")
    assert "/public" in server.paths("vhost.example")
    assert server.paths("blocked.example") == []
    denied = {f.request.url: f.value.decision for f in result.spider.failures}
    assert denied[server.url("/private/x")].deciding_check.value == "robots"
    assert denied[server.url("/page")].deciding_check.value == "site"
    records = {r["url"]: r for r in result.records if "robots.txt" not in r["url"]}
    # The record names both hosts: the URL's and the vhost.
    public = records[server.url("/public")]
    assert public["host"] == "127.0.0.1"
    assert "vhost.example" in str(public["reasons"])
    # The vhost's robots.txt was fetched with its Host header, through the same server.
    assert server.paths("vhost.example").count("/robots.txt") == 1


@deferred_f_from_coro_f
async def test_own_fetches_are_never_answered_by_the_http_cache(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, tmp_path: Path
) -> None:
    server.route("news.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("news.example", "/private/a", body="a")
    settings = base_settings(
        policy_dir,
        audit_path,
        HTTPCACHE_ENABLED=True,
        HTTPCACHE_DIR=str(tmp_path / "httpcache"),
        HTTPCACHE_EXPIRATION_SECS=0,  # never expires
        HTTPCACHE_IGNORE_HTTP_CODES=[],
    )
    first = await crawl(settings, ["http://news.example/private/a"], proxy=server.proxy)
    assert first.fetched_urls == ["http://news.example/private/a"]
    # The site now disallows the path: the cached 200 must not stand in for it.
    server.route("news.example", "/robots.txt", body=ROBOTS)
    second = await crawl(settings, ["http://news.example/private/a"], proxy=server.proxy)
    assert server.paths("news.example").count("/robots.txt") == 2
    assert second.denied_urls == ["http://news.example/private/a"]
    assert second.spider.failures[0].value.decision.deciding_check.value == "robots"


@deferred_f_from_coro_f
async def test_two_user_agent_values_are_denied(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("ua.example", "/robots.txt", body="User-agent: EvilBot\nDisallow: /\n")
    server.route("ua.example", "/x", body="x")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://ua.example/x"],
        proxy=server.proxy,
        request_kwargs={"headers": {"User-Agent": ["TestBot/1.0", "EvilBot/1.0"]}},
    )
    assert "/x" not in server.paths("ua.example")
    assert "2 User-Agent values" in result.spider.failures[0].value.decision.summary()


class PoisoningSpider(ListSpider):
    """First a request posing as another crawler; once it is decided, an ordinary one."""

    async def start(self):  # type: ignore[override]
        yield scrapy.Request(
            "http://ua.example/first",
            headers={"User-Agent": "EvilBot/1.0"},
            callback=self.parse,
            errback=self.then_ordinary,
            dont_filter=True,
        )

    def then_ordinary(self, failure: Any):
        self.failures.append(failure)
        for url in self.urls:
            yield self.make(url)


@deferred_f_from_coro_f
async def test_one_request_with_another_user_agent_does_not_poison_the_origin(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("ua.example", "/robots.txt", body="User-agent: EvilBot\nDisallow: /\n")
    server.route("ua.example", "/first", body="x")
    server.route("ua.example", "/second", body="y")
    result = await crawl(
        base_settings(policy_dir, audit_path),
        ["http://ua.example/second"],
        proxy=server.proxy,
        spider_cls=PoisoningSpider,
    )
    assert result.denied_urls == ["http://ua.example/first"]
    assert result.fetched_urls == ["http://ua.example/second"]
    robots_fetches = [r for r in server.received if r.path == "/robots.txt"]
    assert [r.headers["User-Agent"] for r in robots_fetches] == [
        "TestBot/1.0 (+https://example.invalid/bot)"
    ]
    # robots.txt was never asked for as EvilBot, so no fetch of it was blocked
    # (a blocked fetch is a disallow-all for the origin: the poisoning).
    own = [r for r in result.records if r["url"].endswith("/robots.txt")]
    assert own and all(r["verdict"] == "allow" for r in own)


class NoAiHeader:
    """A response observer as the signal checks register them: deny on a header value."""

    def observe(self, view):
        from crawler_compliance import Check, Outcome, Reason

        if "stop" in view.header("x-test-signal"):
            return [Reason(Check.ROBOTS, Outcome.DENY, "the response says stop")]
        if view.header("x-test-signal"):
            return [Reason(Check.ROBOTS, Outcome.INFO, "the response says something else")]
        return []


class ObservedSpider(ListSpider):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        from crawler_compliance import ComplianceMiddleware

        spider = super().from_crawler(crawler, *args, **kwargs)

        def attach() -> None:
            main = crawler.get_downloader_middleware(ComplianceMiddleware)
            main.enforcer.observers.append(NoAiHeader())

        crawler.signals.connect(attach, signal=scrapy.signals.engine_started, weak=False)
        return spider


@deferred_f_from_coro_f
async def test_a_binding_response_signal_drops_the_response_before_the_spider(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    server.route("sig.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("sig.example", "/stop", body="x", headers={"X-Test-Signal": "stop"})
    server.route("sig.example", "/other", body="y", headers={"X-Test-Signal": "other"})
    server.route("sig.example", "/plain", body="z")
    urls = ["http://sig.example/stop", "http://sig.example/other", "http://sig.example/plain"]
    result = await crawl(
        base_settings(policy_dir, audit_path), urls, proxy=server.proxy, spider_cls=ObservedSpider
    )
    assert sorted(result.fetched_urls) == ["http://sig.example/other", "http://sig.example/plain"]
    assert result.denied_urls == ["http://sig.example/stop"]
    responses = [r for r in result.records if "the response says" in str(r["reasons"])]
    assert sorted((r["url"], r["verdict"]) for r in responses) == [
        ("http://sig.example/other", "allow"),
        ("http://sig.example/stop", "deny"),
    ]
    stop = [r for r in responses if r["verdict"] == "deny"][0]
    assert "fetched and discarded" in str(stop["reasons"])
    assert result.stats["compliance/response/denied"] == 1


class _SneakyHeaders(scrapy.http.Headers):
    """Headers that say they are empty; Twisted still sends what they hold."""

    def __len__(self) -> int:
        return 0


class _LookupRequest(scrapy.Request):
    """A request class whose own attribute lookup hands out its headers."""

    def __getattribute__(self, name: str) -> Any:
        if name == "headers":
            return scrapy.http.Headers({"Host": "www.youtube.com"})
        return super().__getattribute__(name)


class _CaseKeptHeaders(scrapy.http.Headers):
    """Headers that keep each name as given (``host``, not ``Host``)."""

    def normkey(self, key: Any) -> bytes:
        return key.encode() if isinstance(key, str) else key


class _ItemsHeaders(scrapy.http.Headers):
    """Headers whose items (what the downloader copies) hold more than their dict."""

    def items(self):  # type: ignore[override]
        return [(b"Host", [b"www.youtube.com"])]


class _GetattrRequest(scrapy.Request):
    """A request whose headers come from ``__getattr__`` (the property raises first)."""

    @property
    def headers(self) -> Any:  # type: ignore[override]
        raise AttributeError("headers")

    def __getattr__(self, name: str) -> Any:
        if name == "headers":
            return scrapy.http.Headers({"Host": "www.youtube.com"})
        raise AttributeError(name)


class OddHeadersSpider(ListSpider):
    def make(self, url: str) -> scrapy.Request:
        kind = url.rsplit("/", 1)[1]
        kwargs = {"callback": self.parse, "errback": self.failed, "dont_filter": True}
        if kind == "lookup":
            return _LookupRequest(url, **kwargs)
        if kind == "getattr":
            return _GetattrRequest(url, **kwargs)
        request = scrapy.Request(url, **kwargs)
        if kind == "sneaky":
            request.headers = _SneakyHeaders({"Host": "www.youtube.com"})
        elif kind == "case":
            request.headers = _CaseKeptHeaders({"host": "www.youtube.com"})
        elif kind == "items":
            request.headers = _ItemsHeaders({})
        elif kind == "raw":
            dict.__setitem__(request.headers, b"HOST", [b"www.youtube.com"])
        return request


@deferred_f_from_coro_f
async def test_a_host_header_is_read_however_the_request_hands_out_its_headers(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    """However a request hands out its headers (its own attribute lookup, __getattr__,
    a Headers that claims to be empty, keeps names' case, or lists more in items(), a
    name stored in capitals), the Host header it sends is the one decided (the
    registry denies YouTube)."""
    kinds = ["lookup", "getattr", "sneaky", "case", "items", "raw"]
    result = await crawl(
        base_settings(policy_dir, audit_path),
        [server.url(f"/{kind}") for kind in kinds],
        spider_cls=OddHeadersSpider,
    )
    assert server.received == []
    assert len(result.spider.failures) == len(kinds)
    for failure in result.spider.failures:
        assert failure.check(RequestDenied)
        assert "youtube" in failure.value.decision.summary().lower()
