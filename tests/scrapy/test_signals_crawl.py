"""robots.txt AI opt-outs through real crawls, per purpose (loopback sites).

The same site, crawled for different purposes: what the server received and
what the audit log says. (TDMRep, RSL and response signals join these once
the middleware fetches site files and observes responses.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl

SITES = {
    # host: (robots.txt, purposes whose crawl must not fetch the page)
    "usage.example": ("User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n", {"ai-training"}),
    "signal.example": (
        "User-agent: *\nAllow: /\nContent-Signal: search=yes, ai-input=no, ai-train=no\n",
        {"ai-training", "ai-input"},
    ),
    "nosearch.example": (
        "User-agent: *\nAllow: /\nContent-Signal: search=no\n",
        {"search-indexing"},
    ),
    "legacy.example": (
        "User-agent: *\nAllow: /\nContent-Usage: all=n, search=y\n",
        {"ai-training", "ai-input", "research"},
    ),
    "plain.example": ("User-agent: *\nAllow: /\n", set()),
}


@pytest.mark.parametrize("purpose", ["search-indexing", "ai-training", "ai-input", "research"])
@deferred_f_from_coro_f
async def test_robots_txt_opt_outs_per_purpose(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, purpose: str
) -> None:
    for host, (robots, _refused) in SITES.items():
        server.route(host, "/robots.txt", body=robots)
        server.route(host, "/page", body="<html><head></head><body>x</body></html>")
    urls = [f"http://{host}/page" for host in SITES]
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_PURPOSE=purpose)
    result = await crawl(settings, urls, proxy=server.proxy)
    for host, (_robots, refused) in SITES.items():
        fetched = "/page" in server.paths(host)
        assert fetched is (purpose not in refused), (host, purpose)
        (record,) = result.decisions_for(f"http://{host}/page")
        assert record["purpose"] == purpose
        if purpose in refused:
            deny = [r for r in record["reasons"] if r["outcome"] == "deny"]
            assert deny and all(r["source"] == f"http://{host}/robots.txt" for r in deny)
            assert all(r["signal"] in ("content-signal", "content-usage") for r in deny)
            assert all(purpose in r["binds"] for r in deny)


@deferred_f_from_coro_f
async def test_permission_lifts_rules_not_opt_outs(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    (policy_dir / "sites" / "partner.yaml").write_text(
        "id: partner\ndomains: [partner.example, friend.example]\npermissions:\n"
        "  - agreement: LIC-9\n    paths: [/data/]\n"
        "    overrides:\n      - {signal: content-usage, reference: LIC-9 s.4}\n"
        "  - agreement: DPA-1\n    paths: [/docs/]\n"
    )
    robots = "User-agent: *\nDisallow: /\nContent-Usage: train-ai=n\n"
    server.route("partner.example", "/robots.txt", body=robots)
    for path in ("/data/1", "/docs/1"):
        server.route("partner.example", path, body="content")
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_PURPOSE="ai-training")
    result = await crawl(
        settings,
        ["http://partner.example/data/1", "http://partner.example/docs/1"],
        proxy=server.proxy,
    )
    paths = server.paths("partner.example")
    # The agreement overriding content-usage admits /data/; the other one lifts
    # "Disallow: /" but not the opt-out, so /docs/ is refused.
    assert "/data/1" in paths and "/docs/1" not in paths
    (docs,) = result.decisions_for("http://partner.example/docs/1")
    assert docs["verdict"] == "deny"
    assert [r["rule"] for r in docs["reasons"] if r["outcome"] == "deny"] == ["train-ai=n"]
    (data,) = result.decisions_for("http://partner.example/data/1")
    assert any(r.get("override") == "LIC-9 s.4" for r in data["reasons"])


HEAD_PAGE = "<!doctype html><html><head><title>t</title>{}</head><body><p>x</p>{}</body></html>"

# path: (route kwargs, purposes whose crawl must drop the response)
RESPONSES = {
    "/noai-header": ({"headers": {"X-Robots-Tag": "NoAI"}}, {"ai-training", "ai-input"}),
    "/scoped-ours": ({"headers": {"X-Robots-Tag": "testbot: noindex"}}, {"search-indexing"}),
    "/scoped-other": ({"headers": {"X-Robots-Tag": "googlebot: noindex, noai"}}, set()),
    "/noindex-meta": (
        {"body": HEAD_PAGE.format('<meta name="ROBOTS" content="noindex">', "")},
        {"search-indexing"},
    ),
    "/noai-token-meta": (
        {"body": HEAD_PAGE.format('<meta name="TestBot" content="noai">', "")},
        {"ai-training", "ai-input"},
    ),
    "/meta-in-body": (
        {"body": HEAD_PAGE.format("", '<meta name="robots" content="noai, noindex">')},
        set(),
    ),
    "/tdm-header": ({"headers": {"TDM-Reservation": "1"}}, {"ai-training", "ai-input", "research"}),
    "/tdm-meta-lifts": (
        {
            "headers": {"tdm-reservation": "1"},
            "body": HEAD_PAGE.format('<meta name="tdm-reservation" content="0">', ""),
        },
        set(),
    ),
    "/usage-header": ({"headers": {"Content-Usage": "train-ai=n"}}, {"ai-training"}),
    "/binary": (
        {
            "headers": {"Content-Type": "application/octet-stream"},
            "body": b'<head><meta name="robots" content="noai"></head>\x00',
        },
        set(),
    ),
    "/plain": ({"body": HEAD_PAGE.format("", "")}, set()),
}


@pytest.mark.parametrize("purpose", ["search-indexing", "ai-training", "research"])
@deferred_f_from_coro_f
async def test_response_signals_drop_what_binds_the_purpose(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, purpose: str
) -> None:
    server.route("sig.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    for path, (route, _refused) in RESPONSES.items():
        route = dict(route)
        headers = {"Content-Type": "text/html; charset=utf-8", **route.pop("headers", {})}
        server.route("sig.example", path, headers=headers, body=route.pop("body", "x"))
    urls = [f"http://sig.example{path}" for path in RESPONSES]
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_PURPOSE=purpose)
    result = await crawl(settings, urls, proxy=server.proxy)
    expected_dropped = sorted(
        f"http://sig.example{path}"
        for path, (_r, refused) in RESPONSES.items()
        if purpose in refused
    )
    # Every URL was fetched (the server saw it) ...
    assert set(server.paths("sig.example")) >= set(RESPONSES)
    # ... but the spider never saw the ones whose signal binds this purpose.
    assert sorted(result.denied_urls) == expected_dropped
    assert sorted(result.fetched_urls) == sorted(set(urls) - set(expected_dropped))
    for url in urls:
        # Each URL: the page decision (allow), then a response record when a signal spoke.
        page, *after = result.decisions_for(url)
        assert page["verdict"] == "allow"
        if url in expected_dropped:
            (record,) = after
            assert record["verdict"] == "deny"
            assert "fetched and discarded" in str(record["reasons"])
            signal = [r for r in record["reasons"] if r["outcome"] == "deny"][0]
            assert signal["check"] == "opt-out" and purpose in signal["binds"]
            assert signal["source"] == url
        else:
            assert all(r["verdict"] == "allow" for r in after)
    if expected_dropped:
        assert result.stats["compliance/response/denied"] == len(expected_dropped)


RSL_NS = 'xmlns="https://rslstandard.org/rsl"'
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY a{n} "{"&a;" * 10}">' for n in range(9))
    + f']><rsl {RSL_NS}><content url="/">&a8;</content></rsl>'
)


def licence(terms: str, server_attr: str = "") -> str:
    return f'<rsl {RSL_NS}><content url="/"{server_attr}><license>{terms}</license></content></rsl>'


# host: (extra robots.txt lines, {path: Route kwargs}, purposes refused for /page)
FILE_SITES: dict[str, tuple[str, dict, set[str]]] = {
    "tdm.example": (
        "",
        {
            "/.well-known/tdmrep.json": {
                "body": '[{"location": "/page", "tdm-reservation": 1,'
                ' "tdm-policy": "https://tdm.example/policy"}]'
            }
        },
        {"ai-training", "research"},
    ),
    "tdmfree.example": (
        "",
        {"/.well-known/tdmrep.json": {"body": '[{"location": "/", "tdm-reservation": 0}]'}},
        set(),
    ),
    "tdm404.example": ("", {}, set()),
    "tdm503.example": (
        "",
        {"/.well-known/tdmrep.json": {"status": 503}},
        {"ai-training", "research"},
    ),
    "tdmobject.example": (
        "",
        {"/.well-known/tdmrep.json": {"body": '{"location": "/", "tdm-reservation": 0}'}},
        {"ai-training", "research"},
    ),
    "tdmhuge.example": (
        "",
        {
            "/.well-known/tdmrep.json": {
                "body": "[" + '{"location": "/x", "tdm-reservation": 0},' * 50_000 + "{}]"
            }
        },
        {"ai-training", "research"},
    ),
    "rsl.example": (
        "License: /license.xml\n",
        {"/license.xml": {"body": licence('<prohibits type="usage">ai-train</prohibits>')}},
        {"ai-training"},
    ),
    "rslpaid.example": (
        "License: /license.xml\n",
        {
            "/license.xml": {
                "body": licence(
                    '<permits type="usage">all</permits><payment type="crawl">'
                    '<amount currency="USD">1</amount></payment>'
                )
            }
        },
        {"ai-training", "search-indexing", "research"},
    ),
    "rslbomb.example": (
        "License: /license.xml\n",
        {"/license.xml": {"body": BOMB}},
        {"ai-training"},
    ),
    "rslcovered.example": ("License: http://www.youtube.com/license.xml\n", {}, {"ai-training"}),
}


@pytest.mark.parametrize("purpose", ["search-indexing", "ai-training", "research"])
@deferred_f_from_coro_f
async def test_tdmrep_and_rsl_files_per_purpose(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, purpose: str
) -> None:
    for host, (lines, routes, _refused) in FILE_SITES.items():
        server.route(host, "/robots.txt", body=f"User-agent: *\nAllow: /\n{lines}")
        server.route(host, "/page", body="content")
        server.route(host, "/page2", body="content")
        for path, route in routes.items():
            server.route(host, path, **route)
    server.route("www.youtube.com", "/license.xml", body=licence(""))
    urls = [f"http://{host}/{page}" for host in FILE_SITES for page in ("page", "page2")]
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_PURPOSE=purpose)
    result = await crawl(settings, urls, proxy=server.proxy)
    assert server.paths("www.youtube.com") == []  # a licence on a covered host: never fetched
    for host, (_lines, _routes, refused) in FILE_SITES.items():
        paths = server.paths(host)
        assert ("/page" in paths) is (purpose not in refused), (host, purpose, paths)
        tdm_fetches = paths.count("/.well-known/tdmrep.json")
        # Read once per origin (a 503 is retried once, like robots.txt), and only by a
        # crawl whose purpose TDM covers.
        expected = 0
        if purpose in ("ai-training", "research"):
            expected = 2 if host == "tdm503.example" else 1
        assert tdm_fetches == expected, (host, paths)
        assert paths.count("/license.xml") <= 1
        if purpose in refused:
            (record,) = result.decisions_for(f"http://{host}/page")
            deny = [r for r in record["reasons"] if r["outcome"] == "deny"]
            assert deny and deny[0]["check"] == "opt-out" and purpose in deny[0]["binds"]
    own = [r for r in result.records if r["url"].endswith("/.well-known/tdmrep.json")]
    if purpose == "search-indexing":
        assert own == []
    else:
        assert own and all(r["verdict"] == "allow" for r in own)  # audited own fetches
    covered = [r for r in result.records if r["url"] == "http://www.youtube.com/license.xml"]
    assert covered and all(r["verdict"] == "deny" for r in covered)


@deferred_f_from_coro_f
async def test_agreement_naming_the_licence_admits_a_paid_licence(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    (policy_dir / "sites" / "paid.yaml").write_text(
        "id: paid\ndomains: [rslpaid.example]\npermissions:\n"
        "  - agreement: RSL-PAID-1\n    purposes: [search-indexing]\n    overrides:\n"
        "      - signal: rsl\n        licence: http://rslpaid.example/license.xml\n"
        "        reference: RSL-PAID-1 (crawl fee paid)\n"
    )
    lines, routes, _ = FILE_SITES["rslpaid.example"]
    server.route("rslpaid.example", "/robots.txt", body=f"User-agent: *\nAllow: /\n{lines}")
    server.route("rslpaid.example", "/page", body="content")
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_PURPOSE="search-indexing")
    result = await crawl(settings, ["http://rslpaid.example/page"], proxy=server.proxy)
    # The permission settles the site for search-indexing: the licence is not even needed.
    assert "/page" in server.paths("rslpaid.example")
    assert result.fetched_urls == ["http://rslpaid.example/page"]
