"""Terms of service in real crawls: watched pages fetched through the engine, discovery."""

from __future__ import annotations

import gzip
import hashlib
import textwrap
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import RequestDenied
from crawler_compliance.audit import verify_log
from crawler_compliance.cli import main
from crawler_compliance.terms import normalize_body
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl

TERMS = """<!doctype html><html><head><script>var build = "{build}";</script></head>
<body><nav><a href="/">Shop</a></nav><div id="cookie-banner">Cookies? <button>OK</button></div>
<main><h1>Terms of Use</h1><p>Last updated: {updated}</p>
<p>You may browse and index our catalogue.</p>{extra}
<input type="hidden" name="csrf" value="{build}"></main></body></html>"""
CLAUSE = "<p>You may not use any robot, spider or other automated means to copy prices.</p>"


def reviewed_page(build: str = "a1", updated: str = "1 March 2026", extra: str = "") -> str:
    return TERMS.format(build=build, updated=updated, extra=extra)


def watch(policy_dir: Path, url: str = "http://shop.example/terms", **policy: str) -> str:
    """legal's record for shop.example: reviewed text = reviewed_page(), normalised."""
    text = normalize_body(reviewed_page().encode(), {"content-type": "text/html"}).text
    (policy_dir / "terms").mkdir(exist_ok=True)
    (policy_dir / "terms" / "shop.txt").write_text(text, encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    (policy_dir / "sites" / "shop.yaml").write_text(
        textwrap.dedent(
            f"""\
            id: shop
            domains: [shop.example]
            terms:
              url: {url}
              reviewed: 2026-03-01
              verdict: allowed
              sha256: {sha}
              snapshot: terms/shop.txt
            """
        ),
        encoding="utf-8",
    )
    if policy:
        lines = "".join(f"  {key}: {value}\n" for key, value in policy.items())
        with (policy_dir / "policy.yaml").open("a", encoding="utf-8") as handle:
            handle.write("terms:\n" + lines)
    assert main(["validate", str(policy_dir)]) == 0
    return sha


PAGES = ["http://shop.example/catalogue/1", "http://shop.example/catalogue/2"]


def serve_shop(server: LoopbackServer, terms: str | bytes, **route: object) -> None:
    server.route("shop.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    for url in PAGES:
        server.route("shop.example", url.removeprefix("http://shop.example"), body="item")
    headers = route.pop("headers", {"Content-Type": "text/html; charset=utf-8"})
    server.route("shop.example", "/terms", body=terms, headers=headers, **route)


def terms_reasons(record: dict) -> list[dict]:
    return [r for r in record["reasons"] if r["check"] == "terms"]


@deferred_f_from_coro_f
async def test_unchanged_terms_are_fetched_once_and_allow(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    sha = watch(policy_dir)
    serve_shop(server, reviewed_page())
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)

    assert sorted(result.fetched_urls) == PAGES
    assert server.paths("shop.example").count("/terms") == 1
    own = [r for r in result.records if r["url"] == "http://shop.example/terms"]
    # The hop decided before it was sent, then what the page says: both own fetches.
    assert [r["kind"] for r in own] == ["own-fetch", "own-fetch"]
    assert own[0]["reasons"][-1] == {
        "check": "terms",
        "outcome": "info",
        "message": "terms fetch by crawler-compliance",
    }
    assert terms_reasons(own[1])[0]["current_sha256"] == sha
    for url in PAGES:
        [page] = result.decisions_for(url)
        [reason] = terms_reasons(page)
        assert reason["outcome"] == "info" and "unchanged since review" in reason["message"]
    # Nothing of the page was fetched before the terms were read.
    order = [r["url"] for r in result.records]
    assert order.index("http://shop.example/terms") < order.index(PAGES[0])
    assert result.stats["compliance/terms/fetch_count"] == 1
    assert verify_log(audit_path).ok


@deferred_f_from_coro_f
async def test_noisy_but_same_terms_are_unchanged(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir)
    noisy = reviewed_page(build="zz99", updated="30 November 2026").replace("<p>", "\n\n  <p>")
    serve_shop(server, noisy)
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)
    assert sorted(result.fetched_urls) == PAGES


@deferred_f_from_coro_f
async def test_a_new_clause_denies_with_both_fingerprints_and_the_change(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    sha = watch(policy_dir)
    serve_shop(server, reviewed_page(extra=CLAUSE))
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)

    assert result.fetched_urls == []
    assert sorted(server.paths("shop.example")) == ["/terms"]  # not even robots.txt
    for url in PAGES:
        [failure] = [f for f in result.spider.failures if f.request.url == url]
        assert failure.check(RequestDenied)
        assert failure.value.decision.deciding_check.value == "terms"
        [record] = result.decisions_for(url)
        [reason] = terms_reasons(record)
        assert reason["outcome"] == "deny"
        assert reason["reviewed_sha256"] == sha
        assert reason["current_sha256"] != sha and len(reason["current_sha256"]) == 64
        assert reason["changes"] == [
            "+ You may not use any robot, spider or other automated means to copy prices."
        ]
    assert result.stats["compliance/terms/denied"] == 2


@deferred_f_from_coro_f
async def test_changed_terms_warn_when_configured(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir, changed="warn")
    serve_shop(server, reviewed_page(extra=CLAUSE))
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)
    assert sorted(result.fetched_urls) == PAGES
    [reason] = terms_reasons(result.decisions_for(PAGES[0])[0])
    assert "terms.changed: warn" in reason["message"] and reason["current_sha256"]


@deferred_f_from_coro_f
async def test_terms_on_a_covered_host_are_never_contacted(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir, url="http://www.youtube.com/t/terms")
    serve_shop(server, reviewed_page())
    server.route("www.youtube.com", "/t/terms", body=reviewed_page())
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)

    assert server.paths("www.youtube.com") == []
    assert result.fetched_urls == []
    [hop] = [r for r in result.records if r["url"] == "http://www.youtube.com/t/terms"][:1]
    assert hop["verdict"] == "deny" and hop["kind"] == "own-fetch"
    [reason] = terms_reasons(result.decisions_for(PAGES[0])[0])
    assert reason["outcome"] == "deny" and "could not be checked" in reason["message"]
    assert reason["terms_status"] == "blocked"


HOSTILE = [
    ({"status": 503, "body": "down"}, "503"),
    ({"status": 200, "body": "slow", "delay": 2.5}, "timeout"),
    ({"status": 302, "location": "http://shop.example/terms"}, "redirect-loop"),
    ({"status": 200, "body": b"<p>" + b"a" * (50 * 1024 * 1024)}, "too-large"),
    (
        {
            "body": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64,
            "headers": {"Content-Type": "image/png"},
        },
        "not-a-page",
    ),
    (
        {
            "body": gzip.compress(b"<p>" + b"x" * (64 * 1024 * 1024)),
            "headers": {"Content-Type": "text/html", "Content-Encoding": "gzip"},
        },
        "too-large",
    ),
]


@pytest.mark.parametrize(("route", "detail"), HOSTILE, ids=[d for _, d in HOSTILE])
@deferred_f_from_coro_f
async def test_an_unreachable_watched_page_denies_and_is_bounded(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, route: dict, detail: str
) -> None:
    watch(policy_dir)
    serve_shop(server, route.pop("body", ""), **route)
    settings = base_settings(policy_dir, audit_path, DOWNLOAD_TIMEOUT=1, RETRY_ENABLED=False)
    result = await crawl(settings, PAGES, proxy=server.proxy)

    assert result.fetched_urls == []
    for url in PAGES:
        assert url not in [f"http://shop.example{p}" for p in server.paths("shop.example")]
        [reason] = terms_reasons(result.decisions_for(url)[0])
        assert reason["outcome"] == "deny"
        assert reason["terms_status"] == detail
        assert "terms.on_unreachable: deny" in reason["message"]


@deferred_f_from_coro_f
async def test_an_unreachable_page_allows_when_the_policy_says_so(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir, on_unreachable="warn")
    serve_shop(server, "down", status=503)
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)
    assert sorted(result.fetched_urls) == PAGES


@deferred_f_from_coro_f
async def test_a_non_utf8_charset_is_read_and_compared(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir)
    page = reviewed_page().replace("catalogue.", "catalogue (café).")
    serve_shop(server, page.encode("cp1252"), headers={"Content-Type": "text/html; charset=cp1252"})
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)
    [reason] = terms_reasons(result.decisions_for(PAGES[0])[0])
    assert reason["outcome"] == "deny"  # a real edit, decoded: (café) was added
    assert reason["changes"] == [
        "- You may browse and index our catalogue.",
        "+ You may browse and index our catalogue (café).",
    ]


# --- discovery -----------------------------------------------------------------------------

RESTRICTIVE = (
    "<html><body><main><h1>Terms</h1>"
    "<p>You may not use any robot, spider or other automated means to access the Service.</p>"
    "<p>Our robots are friendly.</p></main></body></html>"
)


@deferred_f_from_coro_f
async def test_discovery_reads_a_linked_terms_page_once_and_flags_it(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, capsys
) -> None:
    page = (
        '<html><body><p>Hi</p><footer><a href="/legal">Terms of Service</a></footer></body></html>'
    )
    urls = [f"http://blog.example/post/{n}" for n in range(3)]
    for url in urls:
        server.route("blog.example", url.removeprefix("http://blog.example"), body=page,
                     headers={"Content-Type": "text/html"})  # fmt: skip
    server.route("blog.example", "/legal", body=RESTRICTIVE, headers={"Content-Type": "text/html"})
    result = await crawl(base_settings(policy_dir, audit_path), urls, proxy=server.proxy)

    assert sorted(result.fetched_urls) == urls  # flag: evidence only
    assert server.paths("blog.example").count("/legal") == 1
    [found] = [
        r
        for r in result.records
        if r["url"] == "http://blog.example/legal" and any("evidence" in x for x in r["reasons"])
    ]
    [reason] = terms_reasons(found)
    assert reason["evidence"] == [
        "You may not use any robot, spider or other automated means to access the Service."
    ]
    assert main(["terms", "pending", str(audit_path), "--policies", str(policy_dir)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("blog.example  terms: http://blog.example/legal")
    assert "«You may not use any robot, spider or other automated means" in out
    assert "friendly" not in out


@deferred_f_from_coro_f
async def test_discovery_deny_mode_denies_the_domain_once_flagged(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    with (policy_dir / "policy.yaml").open("a", encoding="utf-8") as handle:
        handle.write("terms:\n  discovery: deny\n")
    server.route("blog.example", "/terms", body=RESTRICTIVE, headers={"Content-Type": "text/html"})
    server.route("blog.example", "/post", body="<p>post</p>", headers={"Content-Type": "text/html"})
    settings = base_settings(policy_dir, audit_path, CONCURRENT_REQUESTS=1)

    from tests.scrapy.crawling import ListSpider

    class Then(ListSpider):
        def parse(self, response):  # the terms page first, then another page of the site
            super().parse(response)
            if response.url.endswith("/terms"):
                yield self.make("http://www.blog.example/post")

    result = await crawl(
        settings, ["http://blog.example/terms"], proxy=server.proxy, spider_cls=Then
    )
    assert result.fetched_urls == ["http://blog.example/terms"]
    decision = [f for f in result.spider.failures if f.check(RequestDenied)][0].value.decision
    assert decision.deciding_check.value == "terms"
    assert "terms.discovery: deny" in decision.summary()
    assert "/post" not in server.paths("www.blog.example")


@deferred_f_from_coro_f
async def test_friendly_terms_and_recorded_sites_are_not_flagged(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, capsys
) -> None:
    with (policy_dir / "policy.yaml").open("a", encoding="utf-8") as handle:
        handle.write("terms:\n  discovery: deny\n")
    friendly = "<html><body><main><p>Our robots are friendly.</p></main></body></html>"
    server.route("nice.example", "/terms", body=friendly, headers={"Content-Type": "text/html"})
    server.route("nice.example", "/a", body="a", headers={"Content-Type": "text/html"})
    settings = base_settings(policy_dir, audit_path, CONCURRENT_REQUESTS=1)
    urls = ["http://nice.example/terms", "http://nice.example/a"]
    result = await crawl(settings, urls, proxy=server.proxy)
    assert sorted(result.fetched_urls) == sorted(urls)
    assert main(["terms", "pending", str(audit_path), "--policies", str(policy_dir)]) == 0


@deferred_f_from_coro_f
async def test_terms_redirects_are_decided_hop_by_hop(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    watch(policy_dir)
    serve_shop(server, "", status=301, location="/legal/terms")
    server.route(
        "shop.example", "/legal/terms", body=reviewed_page(), headers={"Content-Type": "text/html"}
    )
    result = await crawl(base_settings(policy_dir, audit_path), PAGES, proxy=server.proxy)
    assert sorted(result.fetched_urls) == PAGES
    hops = [r["url"] for r in result.records if "/terms" in r["url"]]
    assert hops[:2] == ["http://shop.example/terms", "http://shop.example/legal/terms"]

    # A hop to a covered host is refused before it is sent.
    server.route("shop.example", "/legal/terms", status=302, location="http://www.youtube.com/tos")
    audit2 = audit_path.with_name("audit2.jsonl")
    result = await crawl(base_settings(policy_dir, audit2), PAGES, proxy=server.proxy)
    assert server.paths("www.youtube.com") == []
    assert result.fetched_urls == []
    [reason] = terms_reasons(result.decisions_for(PAGES[0])[0])
    assert reason["terms_status"] == "blocked"
