"""The crawl's fast path decides exactly what the full plan decides.

``Enforcer.settled_page`` decides a page from cached inputs without building
a plan. For every URL, route and purpose below, once the full path
(``plan`` -> files supplied -> ``decision_of``) has filled the caches, the fast
path must give the same decision (every reason, field and Crawl-delay) or
decline (``None``) so that the full path runs. It must never give another
answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler_compliance._enforcement import Enforcer
from crawler_compliance._identity import crawl_identity
from crawler_compliance._route import Route
from crawler_compliance._sitefiles import FetchedFile, SiteFile
from crawler_compliance.policy import load_policy

POLICIES = Path(__file__).resolve().parents[1] / "policies"
TOKEN = "ComplianceDemoBot"

ROBOTS = {
    "plain.example": (
        200,
        b"User-agent: *\nDisallow: /private/\nAllow: /private/open\nCrawl-delay: 2\n",
    ),
    "signals.example": (
        200,
        b"User-agent: *\nContent-Signal: ai-train=no, search=yes\nDisallow: /x\n",
    ),
    "usage.example": (200, b"Content-Usage: train-ai=n\nUser-agent: *\nAllow: /\n"),
    "ai.example": (200, b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nDisallow: /no\n"),
    "licence.example": (
        200,
        b"License: https://licence.example/licence.xml\nUser-agent: *\nAllow: /\n",
    ),
    "tdm.example": (200, b"User-agent: *\nAllow: /\n"),
    "none.example": (404, b""),
    "down.example": (503, b""),
    "127.0.0.1": (200, b"User-agent: *\nDisallow: /admin\n"),
}
TDMREP = {
    "tdm.example": json.dumps(
        [
            {"location": "/reserved/*", "tdm-reservation": 1},
            {"location": "/*", "tdm-reservation": 0},
        ]
    ).encode(),
}
LICENCE = (
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/*">'
    b'<license><prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)
PATHS = [
    "/",
    "/a/b?page=2",
    "/private/a",
    "/private/open",
    "/x/..%2Fprivate/a",
    "/%2e%2e/private/a",
    "/no/such",
    "/reserved/doc",
    "/a?token=s3cret&q=1",
    "/robots.txt",
]
ORIGINS = [
    "https://plain.example",
    "http://plain.example:8080",
    "https://signals.example",
    "https://usage.example",
    "https://ai.example",
    "https://licence.example",
    "https://tdm.example",
    "https://none.example",
    "https://down.example",
    "http://127.0.0.1:8000",
    # never settled from the cache: a notice covers it, or legal has a record
    "https://www.youtube.com",
    "https://shop.example",
    "https://blocked.example",
]
ROUTES = [
    Route(),
    Route(proxy="proxy.example:3128"),
    Route(user_agents=(f"{TOKEN}/1.0",)),
]


def enforcer(tmp_path: Path, purpose: str) -> Enforcer:
    identity = crawl_identity(
        user_agent_header=f"{TOKEN}/1.0", compliance_user_agent=None, policy_token=TOKEN
    )
    return Enforcer.from_policy(
        load_policy(POLICIES),
        identity=identity,
        purpose=purpose,
        audit_path=tmp_path / f"audit-{purpose}.jsonl",
    )


def fetched(need) -> FetchedFile:
    host = need.url.split("/")[2].split(":")[0]
    if need.kind is SiteFile.ROBOTS:
        status, body = ROBOTS.get(host, (404, b""))
        return FetchedFile(need.url, status, body)
    if need.kind is SiteFile.TDMREP:
        body = TDMREP.get(host)
        return FetchedFile(need.url, 200, body) if body else FetchedFile(need.url, 404)
    return FetchedFile(need.url, 200, LICENCE)


def full_decision(e: Enforcer, url: str, route: Route):
    """The full path, supplying every file it asks for (and so filling the caches)."""
    plan = e.plan(url, route)
    while missing := plan.missing():
        need = missing[0]
        if need.kind is SiteFile.TERMS:
            e.supply_terms(plan, need, e.terms_unreadable(need, "not fetched in this test"))
        else:
            e.supply(plan, need, e.store_robots(need, fetched(need)))
    for need in e.signal_needs(plan):
        e.supply_signal_file(need, fetched(need))
    return e.decision_of(plan), e.crawl_delay(plan)


@pytest.mark.parametrize("purpose", ["research", "ai-training", "search-indexing"])
def test_the_fast_path_gives_the_full_decision_or_declines(tmp_path: Path, purpose: str) -> None:
    e = enforcer(tmp_path, purpose)
    settled = declined = 0
    for origin in ORIGINS:
        for route in ROUTES:
            for path in PATHS:
                url = origin + path
                full, delay = full_decision(e, url, route)
                fast = e.settled_page(url, route)
                if fast is None:
                    declined += 1
                    continue
                settled += 1
                assert fast.decision == full, url
                assert fast.crawl_delay == delay, url
    # The common case really is taken (and the covered, recorded hosts never are).
    assert settled == (len(ORIGINS) - 3) * len(ROUTES) * len(PATHS)
    assert declined == 3 * len(ROUTES) * len(PATHS)


def test_the_fast_path_declines_what_it_cannot_settle(tmp_path: Path) -> None:
    e = enforcer(tmp_path, "research")
    url = "https://plain.example/a"
    assert e.settled_page(url, Route()) is None  # robots.txt not fetched yet
    full_decision(e, url, Route())
    assert e.settled_page(url, Route()) is not None
    assert e.settled_page(url, Route(host_headers=("plain.example",))) is None
    assert e.settled_page(url, Route(user_agents=("OtherBot/2.0",))) is None
    assert e.settled_page(url, Route(user_agents=(f"{TOKEN}/1", f"{TOKEN}/1"))) is None
    assert e.settled_page("https://www.youtube.com/watch", Route()) is None
    assert e.settled_page("ftp://plain.example/a", Route()) is None
    # tdmrep.json binds research: until it is read, the page is not settled.
    assert e.settled_page("https://tdm.example/reserved/x", Route()) is None


def test_a_settled_page_is_recorded_before_it_is_returned(tmp_path: Path) -> None:
    e = enforcer(tmp_path, "research")
    full_decision(e, "https://plain.example/", Route())
    written = e.records_written
    fast = e.settled_page("https://plain.example/private/a", Route())
    assert fast is not None and not fast.decision.allowed
    assert e.records_written == written + 1
    e.close()
    last = json.loads((tmp_path / "audit-research.jsonl").read_text().splitlines()[-1])
    assert (last["url"], last["verdict"]) == ("https://plain.example/private/a", "deny")


def test_a_changed_robots_file_is_seen_by_the_fast_path(tmp_path: Path) -> None:
    e = enforcer(tmp_path, "research")
    url = "https://plain.example/open/page"
    full_decision(e, url, Route())
    assert e.settled_page(url, Route()).decision.allowed
    need = e.plan(url, Route()).needs[0]
    e.store_robots(need, FetchedFile(need.url, 200, b"User-agent: *\nDisallow: /open/\n"))
    assert not e.settled_page(url, Route()).decision.allowed


def remember_link(e: Enforcer, page_url: str, licence_url: str) -> None:
    """A response of *page_url* names an RSL licence in its Link header."""
    from crawler_compliance._responses import ResponseView

    e.decide_response(
        ResponseView(
            url=page_url,
            status=200,
            headers={"link": (f'<{licence_url}>; rel="license"',)},
            content_type="text/plain",
            body_head=b"",
            body_size=0,
        )
    )


SPELLINGS = [
    "https://plain.example/b",
    "https://plain.example:443/c",
    "https://user@plain.example/d",
    "https://plain.example./e",
    "https://PLAIN.example/f",
]


def test_a_licence_named_in_a_link_header_binds_every_spelling_of_the_origin(
    tmp_path: Path,
) -> None:
    """However the URL writes the origin, the licence its responses named is read, and binds."""
    e = enforcer(tmp_path, "ai-training")
    full_decision(e, "https://plain.example/", Route())
    e.settled_page("https://plain.example:443/a", Route())  # a memo made before the Link
    remember_link(e, "https://plain.example/page", "https://plain.example/lic.xml")
    assert e.settled_page(SPELLINGS[0], Route()) is None  # the licence is read first
    for url in SPELLINGS:
        full, _ = full_decision(e, url, Route())  # reads the licence (RSL: no ai-train)
        assert not full.allowed, url
        assert "RSL licence https://plain.example/lic.xml" in full.summary(), url
        fast = e.settled_page(url, Route())
        assert fast is not None and fast.decision == full, url


def test_a_new_checker_is_not_answered_from_the_old_ones_memo(tmp_path: Path) -> None:
    """A cluster worker swaps in the checker of a reloaded policy: the fast path
    must decide with it, not with what it remembered of the previous one."""
    import shutil

    from crawler_compliance._checker import ComplianceChecker

    e = enforcer(tmp_path, "research")
    url = "https://plain.example/open/page"
    full_decision(e, url, Route())
    assert e.settled_page(url, Route()).decision.allowed
    reloaded = tmp_path / "policy"
    shutil.copytree(POLICIES, reloaded)
    (reloaded / "sites" / "plain.example.yaml").write_text(
        "id: plain-example\nname: Plain\ndomains: [plain.example]\n"
        "block:\n  reason: asked us not to\n  since: 2025-06-01\n"
    )
    e.checker = ComplianceChecker(load_policy(reloaded), user_agent=TOKEN, purpose="research")
    assert e.settled_page(url, Route()) is None  # a site record now: the full path decides
    full, _ = full_decision(e, url, Route())
    assert not full.allowed and full.deciding_check.value == "site"


def test_an_allow_looked_up_by_its_rule_is_the_one_worked_out_afresh(tmp_path: Path) -> None:
    """robots.txt allows are shared per rule; a warm lookup must give what a cold one works out."""
    policy = load_policy(POLICIES)
    identity = crawl_identity(
        user_agent_header=f"{TOKEN}/1.0", compliance_user_agent=None, policy_token=TOKEN
    )
    warm = enforcer(tmp_path, "research")
    compared = 0
    for origin in ORIGINS[:10]:
        for path in [*PATHS, "/private/open/x", "/a", "/a?b", "/x/y/../z"]:
            url = origin + path
            cold = Enforcer.from_policy(
                policy, identity=identity, purpose="research", audit_path=None
            )
            expected, _ = full_decision(cold, url, Route())
            got, _ = full_decision(warm, url, Route())
            assert got.to_dict() == expected.to_dict(), url
            compared += 1
    assert compared == 10 * (len(PATHS) + 4)
