"""SignalFiles: which tdmrep.json and licences a URL needs, the cache, and never-fetched files."""

from __future__ import annotations

import json

from crawler_compliance import Outcome
from crawler_compliance._hosts import canonicalize
from crawler_compliance._sitefiles import FetchedFile, FetchError, SiteFile
from crawler_compliance.robots import robots_from_fetch
from crawler_compliance.signals import OptOuts, SignalFiles

ROBOTS = robots_from_fetch(
    status=200,
    body=b"User-agent: *\nAllow: /\nLicense: /license.xml\nLicense: https://cdn.example/l.xml\n",
    now=0,
)
URL = canonicalize("https://site.example/a/b")


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def files(purpose: str = "ai-training", clock=None) -> SignalFiles:
    return SignalFiles(OptOuts(purpose=purpose, product_token="Bot"), clock=clock or Clock())


def denies(reasons) -> bool:
    return any(r.outcome is Outcome.DENY for r in reasons)


def test_needs_per_purpose_and_route() -> None:
    ai = files()
    needs = ai.needs(URL, ROBOTS, proxy="127.0.0.1:8080")
    assert [(n.kind, n.url) for n in needs] == [
        (SiteFile.TDMREP, "https://site.example/.well-known/tdmrep.json"),
        (SiteFile.LICENSE, "https://site.example/license.xml"),
        (SiteFile.LICENSE, "https://cdn.example/l.xml"),
    ]
    assert needs[0].key != ai.needs(URL, ROBOTS, proxy=None)[0].key  # the route is in the key
    search = files("search-indexing")
    # TDMRep cannot bind a search crawl: not fetched; licences (payment terms) still are.
    assert [n.kind for n in search.needs(URL, ROBOTS)] == [SiteFile.LICENSE, SiteFile.LICENSE]


def test_never_fetched_files_fail_closed() -> None:
    ai = files()
    reasons = ai.reasons(URL, ROBOTS)
    assert denies(reasons)
    assert any("not fetched" in r.message for r in reasons)


def test_supplied_files_decide_and_are_cached_for_a_day() -> None:
    clock = Clock()
    ai = files(clock=clock)
    for need in ai.needs(URL, ROBOTS):
        if need.kind is SiteFile.TDMREP:
            body = json.dumps([{"location": "/a/", "tdm-reservation": 1}]).encode()
            ai.supply(need, FetchedFile(need.url, 200, body))
        else:
            body = (
                b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
                b'<permits type="usage">all</permits></license></content></rsl>'
            )
            ai.supply(need, FetchedFile(need.url, 200, body))
    assert ai.needs(URL, ROBOTS) == []
    reasons = ai.reasons(URL, ROBOTS)
    (deny,) = [r for r in reasons if r.outcome is Outcome.DENY]
    assert "tdm-reservation=1" in deny.message
    other = canonicalize("https://site.example/free")
    assert not denies(ai.reasons(other, ROBOTS))
    clock.now += 86400
    assert len(ai.needs(URL, ROBOTS)) == 3  # expired: fetched again


def test_licence_on_a_covered_host_is_blocked_and_fails_closed_for_ai() -> None:
    ai = files()
    for need in ai.needs(URL, ROBOTS):
        if need.kind is SiteFile.LICENSE:
            ai.supply(need, FetchedFile(need.url, None, error=FetchError.BLOCKED))
        else:
            ai.supply(need, FetchedFile(need.url, 404))
    reasons = ai.reasons(URL, ROBOTS)
    assert denies(reasons)
    assert any("blocked" in r.message for r in reasons if r.outcome is Outcome.DENY)
    search = files("search-indexing")
    for need in search.needs(URL, ROBOTS):
        search.supply(need, FetchedFile(need.url, None, error=FetchError.BLOCKED))
    assert not denies(search.reasons(URL, ROBOTS))


def test_a_licence_named_in_a_link_header_is_read_before_the_next_page() -> None:
    from crawler_compliance.signals import ResponseView

    ai = files()
    plain = robots_from_fetch(status=200, body=b"User-agent: *\nAllow: /\n", now=0)
    page = ResponseView(
        "https://site.example/one", 200, {"link": ['</terms.rsl>; rel="license"']}, b"", None
    )
    first = ai.opt_outs.observe(page)
    assert denies(first)  # not read yet: dropped for the AI purposes
    needs = ai.needs(canonicalize("https://site.example/two"), plain)
    licence_needs = [n for n in needs if n.kind is SiteFile.LICENSE]
    assert [n.url for n in licence_needs] == ["https://site.example/terms.rsl"]
    body = (
        b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        b'<permits type="usage">all</permits></license></content></rsl>'
    )
    ai.supply(licence_needs[0], FetchedFile(licence_needs[0].url, 200, body))
    # From then on the licence is known: the same Link header no longer drops the page.
    assert not denies(ai.opt_outs.observe(page))
    assert not any(
        r.outcome is Outcome.DENY and r.check.value == "opt-out" and "rsl" in r.message
        for r in ai.reasons(canonicalize("https://site.example/two"), plain)
    )


def test_a_link_to_something_that_is_not_rsl_is_ignored() -> None:
    from crawler_compliance.signals import ResponseView

    ai = files("ai-input")
    plain = robots_from_fetch(status=200, body=b"User-agent: *\nAllow: /\n", now=0)
    page = ResponseView(
        "https://site.example/one", 200, {"link": ["<https://cc.example/by/4.0/>; rel=license"]}
    )
    ai.opt_outs.observe(page)
    (need,) = [
        n
        for n in ai.needs(canonicalize("https://site.example/two"), plain)
        if n.kind is SiteFile.LICENSE
    ]
    ai.supply(need, FetchedFile(need.url, 200, b"<html><body>CC BY 4.0</body></html>"))
    assert not denies(ai.opt_outs.observe(page))
