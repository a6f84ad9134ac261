"""Discovery: terms links found in pages the crawl fetched anyway, restrictive clauses flagged."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._decision import Check, Outcome
from crawler_compliance.policy import load_policy
from crawler_compliance.terms import (
    DISCOVERED_EVENT,
    FoundBy,
    TermsWatch,
    find_terms_link,
    observe,
    restrictive_clauses,
    terms_from_fetch,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "sentence",
    [
        "You may not use any robot, spider or other automated means to access the Service.",
        "You agree not to scrape, crawl or harvest any content.",
        "Automated access to the Services is strictly prohibited.",
        "Data mining, robots, or similar data gathering and extraction tools are prohibited.",
        "Text and data mining of this website is expressly reserved (Art. 4 DSM Directive).",
        "You shall not use the content to train artificial intelligence models.",
        "Use of our content for machine learning is not permitted without our written consent.",
        "Do not use the images for facial recognition.",
        "No robots, spiders or crawlers may be used on this site.",
        "Scraping is forbidden.",
    ],
)
def test_restrictive_sentences_are_flagged(sentence: str) -> None:
    found = restrictive_clauses(f"Welcome.\n{sentence}\nThank you.")
    assert [c.sentence for c in found] == [sentence]
    assert found[0].topics


@pytest.mark.parametrize(
    "sentence",
    [
        "Our robots are friendly.",
        "We use machine learning to recommend products.",
        "Search engines crawl this site daily.",
        "You may not resell tickets.",
        "Spiders are arachnids.",
        "Scraping the ice off your windscreen is your own business.",
    ],
)
def test_harmless_sentences_are_not_flagged(sentence: str) -> None:
    assert restrictive_clauses(sentence) == []


def test_evidence_is_bounded() -> None:
    text = "\n".join(f"You may not scrape page {i}." for i in range(1000))
    text += "\nYou may not crawl " + "very " * 500 + "much."
    found = restrictive_clauses(text)
    assert len(found) == 20
    assert all(
        len(c.sentence) <= 600 for c in restrictive_clauses("You may not crawl " + "x " * 999)
    )


@pytest.mark.parametrize(
    ("html", "url", "found_by"),
    [
        ('<a rel="terms-of-service" href="/t">x</a>', "https://a.example/t", FoundBy.REL),
        (
            '<link rel="Terms-Of-Service" href="https://a.example/legal/tos">',
            "https://a.example/legal/tos",
            FoundBy.REL,
        ),
        ('<a href="/t1">Terms of  Service</a>', "https://a.example/t1", FoundBy.ANCHOR_TEXT),
        ('<a href="/t2"> Terms of Use </a>', "https://a.example/t2", FoundBy.ANCHOR_TEXT),
        ('<a href="/cu">Conditions of Use</a>', "https://a.example/cu", FoundBy.ANCHOR_TEXT),
        ('<a href="/l"><span>Legal</span></a>', "https://a.example/l", FoundBy.ANCHOR_TEXT),
        ('<a href="/agb">AGB</a>', "https://a.example/agb", FoundBy.ANCHOR_TEXT),
        (
            "<a href='/cg'>Conditions générales d'utilisation</a>",
            "https://a.example/cg",
            FoundBy.ANCHOR_TEXT,
        ),
        ('<a href="/tyc">Términos y condiciones</a>', "https://a.example/tyc", FoundBy.ANCHOR_TEXT),
        (
            '<a href="/terms-of-service/">Read this</a>',
            "https://a.example/terms-of-service/",
            FoundBy.PATH,
        ),
        ('<a href="/tos.html#top">here</a>', "https://a.example/tos.html", FoundBy.PATH),
    ],
)
def test_terms_links_are_found(html: str, url: str, found_by: FoundBy) -> None:
    link = find_terms_link(f"<html><body><p>x</p>{html}</body></html>", "https://a.example/page")
    assert link is not None
    assert (link.url, link.found_by) == (url, found_by)


def test_rel_beats_anchor_text_beats_path_and_base_href_is_honoured() -> None:
    html = """<head><base href="https://cdn.a.example/x/"></head><body>
    <a href="/terms">go</a><a href="t.html">Terms</a>
    <a href="tos" rel="nofollow terms-of-service">.</a>"""
    link = find_terms_link(html, "https://a.example/")
    assert link is not None and link.url == "https://cdn.a.example/x/tos"
    html = '<a href="/terms">go</a><a href="/conditions">Terms</a>'
    link = find_terms_link(html, "https://a.example/")
    assert link is not None and link.url == "https://a.example/conditions"


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:terms()">Terms</a>',
        '<a href="mailto:legal@a.example">Legal</a>',
        '<a href="/about">About</a>',
        "",
        "<!-- -->",
    ],
)
def test_no_terms_link(html: str) -> None:
    assert find_terms_link(html, "https://a.example/") is None


# --- the observer --------------------------------------------------------------------------


@dataclass
class View:
    url: str
    body_head: bytes
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"


RESTRICTIVE = b"""<html><body><main><h1>Terms</h1>
<p>You may not use any robot, spider or other automated means to access the Service.</p>
<p>Our robots are friendly.</p></main></body></html>"""
FRIENDLY = b"<html><body><main><h1>Terms</h1><p>Our robots are friendly.</p></main></body></html>"


@pytest.fixture
def checker(tmp_path: Path) -> ComplianceChecker:
    (tmp_path / "policy.yaml").write_text(
        "crawler:\n  product_token: TestBot\n  purpose: research\nterms:\n  discovery: deny\n",
        encoding="utf-8",
    )
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "known.yaml").write_text(
        textwrap.dedent(
            """\
            id: known
            domains: [known.example]
            terms:
              url: https://known.example/terms
              reviewed: 2026-01-01
              verdict: allowed
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "notices").mkdir()
    (tmp_path / "notices" / "n.yaml").write_text(
        textwrap.dedent(
            """\
            id: covered-2020
            issuer: {name: Covered Inc.}
            received: 2020-01-01
            status: active
            scopes: [{label: C, kind: named-service, domains: [covered.example]}]
            """
        ),
        encoding="utf-8",
    )
    return ComplianceChecker(load_policy(tmp_path))


def test_a_terms_page_the_crawl_fetched_is_read_on_the_spot(checker) -> None:
    watch = TermsWatch(discovery="flag")
    reasons = observe(View("https://www.shop.example/terms", RESTRICTIVE), checker, watch)
    assert len(reasons) == 1
    reason = reasons[0]
    assert (reason.check, reason.outcome) == (Check.TERMS, Outcome.INFO)
    data = reason.to_dict()
    assert data["event"] == DISCOVERED_EVENT
    assert data["evidence"] == (
        "You may not use any robot, spider or other automated means to access the Service.",
    )
    assert "Our robots are friendly." not in str(data)
    # Flag mode: evidence only, no deny for later requests.
    assert watch.discovery_reasons("shop.example") == []
    # Once per registrable domain.
    assert observe(View("https://shop.example/terms", RESTRICTIVE), checker, watch) == []


def test_deny_mode_denies_the_registrable_domain_once_flagged(checker) -> None:
    watch = TermsWatch(discovery="deny")
    observe(View("https://shop.example/legal/terms", RESTRICTIVE), checker, watch)
    denied = watch.discovery_reasons("shop.example")
    assert [r.outcome for r in denied] == [Outcome.DENY]
    assert "automated means" in denied[0].message
    assert watch.discovery_reasons("other.example") == []


def test_friendly_terms_are_not_flagged(checker) -> None:
    watch = TermsWatch(discovery="deny")
    [reason] = observe(View("https://friendly.example/terms", FRIENDLY), checker, watch)
    assert "evidence" not in reason.to_dict()
    assert "no clause restricting automated access" in reason.message
    assert watch.discovery_reasons("friendly.example") == []


def test_a_linked_terms_page_is_queued_once_for_one_fetch(checker) -> None:
    watch = TermsWatch(discovery="flag")
    html = b'<html><body><p>Hi</p><footer><a href="/legal/tos">Terms of Service</a></footer>'
    reasons = observe(View("https://www.blog.example/post/1", html), checker, watch)
    assert "to be read once" in reasons[0].message
    assert observe(View("https://blog.example/post/2", html), checker, watch) == []
    found = watch.next_fetch()
    assert found is not None and found.link.url == "https://www.blog.example/legal/tos"
    assert watch.next_fetch() is None
    page = terms_from_fetch(found.link.url, status=200, body=RESTRICTIVE, headers={})
    [reason] = watch.discovered(found.domain, found.link, page)
    assert reason.to_dict()["evidence"]
    assert watch.finding("blog.example").flagged


def test_a_terms_link_to_a_covered_host_is_never_queued(checker) -> None:
    watch = TermsWatch(discovery="flag")
    html = b'<html><body><a href="https://legal.covered.example/tos">Terms</a></body></html>'
    [reason] = observe(View("https://fan.example/", html), checker, watch)
    assert "is not fetched" in reason.message and "covered-2020" in reason.message
    assert watch.next_fetch() is None


@pytest.mark.parametrize(
    "view",
    [
        View("https://known.example/terms", RESTRICTIVE),  # legal has a record
        View("https://covered.example/terms", RESTRICTIVE),  # never crawled anyway
        View("https://x.example/terms", RESTRICTIVE, status=404),
        View("https://x.example/terms", RESTRICTIVE, content_type="application/json"),
        View("https://x.example/terms", b""),
    ],
)
def test_observer_skips(checker, view) -> None:
    watch = TermsWatch(discovery="flag")
    assert observe(view, checker, watch) == []
    assert watch.next_fetch() is None


def test_discovery_off_looks_at_nothing(checker) -> None:
    watch = TermsWatch(discovery="off")
    assert observe(View("https://shop.example/terms", RESTRICTIVE), checker, watch) == []


def test_discovered_urls_are_redacted_in_reasons(checker) -> None:
    watch = TermsWatch(discovery="flag")
    html = b'<a href="/terms?session=s3cr3t-value&lang=en">Terms</a>'
    [reason] = observe(View("https://leaky.example/", html), checker, watch)
    assert "s3cr3t-value" not in str(reason.to_dict())
    found = watch.next_fetch()
    assert found is not None and "s3cr3t-value" in found.link.url  # fetched as linked


def test_watched_pages_are_due_again_after_the_interval() -> None:
    now = [1000.0]
    watch = TermsWatch(refetch_interval=600, clock=lambda: now[0])
    url = "https://a.example/terms"
    assert watch.due(url)
    watch.store(terms_from_fetch(url, status=200, body=FRIENDLY))
    assert not watch.due(url)
    now[0] += 601
    assert watch.due(url)
    watch.store(terms_from_fetch(url, status=503))
    now[0] += 599
    assert not watch.due(url)
    long_watch = TermsWatch(refetch_interval=86400, clock=lambda: now[0])
    long_watch.store(terms_from_fetch(url, status=503))
    now[0] += 3601
    assert long_watch.due(url)  # unreachable: retried within the hour


def test_the_demo_policy_discovers_by_default() -> None:
    policy = load_policy(REPO / "policies")
    assert TermsWatch.from_policy(policy).discovery == "flag"


def test_discovery_gives_up_on_a_site_without_a_terms_link(checker) -> None:
    watch = TermsWatch(discovery="flag")
    plain = b"<html><body><p>No footer links here.</p></body></html>"
    for n in range(5):
        assert observe(View(f"https://plain.example/{n}", plain), checker, watch) == []
    linked = b'<html><body><a href="/terms">Terms</a></body></html>'
    # Five pages without a link: the sixth is not parsed at all.
    assert observe(View("https://plain.example/6", linked), checker, watch) == []
    assert watch.next_fetch() is None
    # ... but the site's terms page itself, if the crawl fetches it, is still read.
    [reason] = observe(View("https://plain.example/terms", RESTRICTIVE), checker, watch)
    assert reason.to_dict()["evidence"]


def test_a_terms_link_to_another_site_is_noted_not_fetched(checker) -> None:
    watch = TermsWatch(discovery="flag")
    html = b'<html><body><a href="http://10.0.0.1/admin">Terms</a></body></html>'
    [reason] = observe(View("https://fan.example/", html), checker, watch)
    assert "is on another site" in reason.message
    assert watch.next_fetch() is None
