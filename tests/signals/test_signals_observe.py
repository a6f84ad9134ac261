"""After the fetch: X-Robots-Tag, robots meta tags, Content-Usage header, RSL Link headers."""

from __future__ import annotations

import pytest

from crawler_compliance import Outcome
from crawler_compliance._purpose import Purpose
from crawler_compliance.signals import (
    OptOuts,
    ResponseView,
    head_metas,
    header_directives,
    licence_from_fetch,
)

TOKEN = "MyBot"
URL = "https://site.example/page"


def view(headers=None, html: bytes = b"", content_type: str = "text/html") -> ResponseView:
    return ResponseView(URL, 200, headers or {}, html, content_type)


def refused(v: ResponseView, **kw) -> set[Purpose]:
    out = set()
    for purpose in Purpose:
        reasons = OptOuts(purpose=purpose, product_token=TOKEN).observe(v, **kw)
        if any(r.outcome is Outcome.DENY for r in reasons):
            out.add(purpose)
    return out


AI = {Purpose.AI_TRAINING, Purpose.AI_INPUT}
SEARCH = {Purpose.SEARCH_INDEXING}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], AI),
        (["NOAI"], AI),
        (["  NoAi  ,  NoIndex "], AI | SEARCH),
        (["noindex", "noai"], AI | SEARCH),  # repeated headers all apply
        (["noimageai"], AI),
        (["none"], SEARCH),
        (["noarchive"], {Purpose.ARCHIVING}),
        (["nofollow, nosnippet, max-snippet: 20"], set()),
        (["MyBot: noai"], AI),
        (["mybot:noindex"], SEARCH),
        (["MYBOT :  noai, noindex"], AI | SEARCH),  # scope lasts to the end of the value
        (["googlebot: noindex", "otherbot: noai"], set()),  # other crawlers' directives
        (["googlebot: noindex, MyBot: noai"], AI),
        (["MyBot: noai", "noindex"], AI | SEARCH),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], set()),
        (["unavailable_after: 25 Jun 2010, noai"], AI),
        ([""], set()),
        ([",,,"], set()),
    ],
)
def test_x_robots_tag(values, expected) -> None:
    assert refused(view({"x-robots-tag": values}, content_type="application/pdf")) == expected


def test_scoped_directive_does_not_become_a_bot_named_noai() -> None:
    assert header_directives(["noai: noindex"], "noai") == [("noindex", "noai")]
    assert header_directives(["otherbot: noindex"], "MyBot") == []


HEAD = b"<!doctype html><html><head><title>T</title>%s</head><body><p>x</p></body></html>"


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (b'<meta name="robots" content="noai">', AI),
        (b'<meta name="ROBOTS" content="NoIndex, NoAI">', AI | SEARCH),
        (b"<meta name=robots content=noimageai>", AI),
        (b'<meta name="MyBot" content="noindex">', SEARCH),
        (b'<meta name="mybot" content="noai">', AI),
        (b'<meta name="googlebot" content="noindex">', set()),
        (b'<meta name="otherbot" content="noai">', set()),
        (b'<meta content="noai" name="robots">', AI),
        (b'<meta name="robots" content="noindex noai">', AI | SEARCH),
        (b'<meta name="description" content="noai">', set()),
        (b'<meta property="robots" content="noai">', set()),
    ],
)
def test_meta_in_head(meta: bytes, expected: set) -> None:
    assert refused(view(html=HEAD % meta)) == expected


@pytest.mark.parametrize(
    "html",
    [
        b'<html><head></head><body><meta name="robots" content="noai"></body></html>',
        b'<html><head><title>t</title></head><p>hi</p><meta name="robots" content="noai">',
        b'<html><body><div><meta name="robots" content="noai"></div></body></html>',
        b'<html><head>text starts the body<meta name="robots" content="noai"></head>',
        b'<html><head><img src=x><meta name="robots" content="noai"></head>',
        b"<p>user comment: &lt;meta&gt;</p><meta name=robots content=noai>",
        b"<head><title>How to write <meta name=robots content=noai></title></head>",
        b"<head><svg><meta name=robots content=noai></svg></head>",
    ],
)
def test_meta_outside_head_is_not_a_signal(html: bytes) -> None:
    assert refused(view(html=html)) == set()


def test_head_parsing_survives_scripts_styles_and_comments() -> None:
    html = (
        b"<html><head><script>if (a < b) { document.write('<body>'); }</script>"
        b"<style>p{}</style><!-- <meta name=robots content=noindex> -->"
        b'<meta name="robots" content="noai"></head><body></body></html>'
    )
    assert head_metas(html) == [("robots", "noai")]
    assert refused(view(html=html)) == AI


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b'<head><meta name="robots" content="noai"></head>'),
        ("image/png", b'<head><meta name="robots" content="noai"></head>'),
        ("text/html", b'\x00\x01<head><meta name="robots" content="noai"></head>'),
        (None, b'<head><meta name="robots" content="noai"></head>'),
    ],
)
def test_non_html_bodies_are_never_parsed(content_type, body) -> None:
    assert refused(view(html=body, content_type=content_type)) == set()


def test_xhtml_and_charset_parameter() -> None:
    body = '<head><meta name="robots" content="noai"><title>é</title></head>'.encode("latin-1")
    assert refused(view(html=body, content_type="application/xhtml+xml; charset=ISO-8859-1")) == AI
    assert refused(view(html=body, content_type="text/html; charset=bogus-charset")) == AI


def test_huge_head_is_bounded() -> None:
    # A meta after the scanned prefix is not read; the scan costs one bounded pass.
    filler = b"<script>" + b"x" * (300 * 1024) + b"</script>"
    html = b"<head>" + filler + b'<meta name="robots" content="noai"></head>'
    assert refused(view(html=html)) == set()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("train-ai=n", {Purpose.AI_TRAINING}),
        ("train-ai=n;reason=x, search=y", {Purpose.AI_TRAINING}),
        ("Train-AI=N", {Purpose.AI_TRAINING}),
        ("ai-use=n", {Purpose.AI_INPUT}),
        ("search=n", SEARCH),
        ("train-ai=y, train-ai=n", {Purpose.AI_TRAINING}),  # last value wins
        ("train-ai=n, train-ai=y", set()),
        ('train-ai="n"', set()),  # a string, not the token n: unknown
        ("train-ai", set()),
        ("all=n, search=y", set(Purpose) - SEARCH),
        ("nonsense", set()),
    ],
)
def test_content_usage_header(value: str, expected: set) -> None:
    assert refused(view({"content-usage": [value]}, content_type="text/plain")) == expected


def test_search_crawl_passes_noai_and_drops_noindex() -> None:
    search = OptOuts(purpose="search-indexing", product_token=TOKEN)
    noai = search.observe(view({"x-robots-tag": ["noai"]}))
    assert [r.outcome for r in noai] == [Outcome.INFO]
    assert "does not bind purpose search-indexing" in noai[0].message
    noindex = search.observe(view(html=HEAD % b'<meta name="robots" content="noindex">'))
    (deny,) = noindex
    assert deny.outcome is Outcome.DENY
    assert "fetched and discarded" in deny.message
    assert '<meta name="robots">' in deny.message and deny.source == URL


def test_link_licence_not_yet_read_fails_closed_for_ai_only() -> None:
    headers = {"link": ['</license.xml>; rel="license"']}
    assert refused(view(headers, content_type="text/plain")) == AI
    known = {
        "https://site.example/license.xml": licence_from_fetch(
            "https://site.example/license.xml",
            status=200,
            body=b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
            b'<permits type="usage">all</permits></license></content></rsl>',
            declared=False,
        )
    }
    assert refused(view(headers, content_type="text/plain"), licences=known) == set()
    assert OptOuts(purpose="ai-training", product_token=TOKEN).link_licence_urls(view(headers)) == [
        "https://site.example/license.xml"
    ]


def test_nothing_to_say_means_no_reasons() -> None:
    assert (
        OptOuts(purpose="ai-training", product_token=TOKEN).observe(
            view({"content-type": ["text/html"]}, HEAD % b"")
        )
        == []
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"link": ["<" * 1_000_000]},
        {"link": ["<a>;" * 300_000]},
        {"x-robots-tag": ["noindex," * 200_000]},
        {"x-robots-tag": ["a:" * 300_000]},
        {"content-usage": ["train-ai=n;" * 100_000]},
        {"x-robots-tag": ["noai"] * 100_000},
        {"tdm-reservation": ["1" * 1_000_000]},
    ],
)
def test_hostile_headers_end_in_a_clean_decision(headers) -> None:
    # Bounded work: each header is capped in count and length before any parsing.
    reasons = OptOuts(purpose="ai-training", product_token=TOKEN).observe(view(headers))
    assert all(r.outcome in (Outcome.DENY, Outcome.INFO) for r in reasons)


def test_byte_order_mark_and_full_user_agent() -> None:
    html = b'\xef\xbb\xbf<!doctype html><meta name="mybot" content="noai"><title>t</title>'
    opt = OptOuts(purpose="ai-training", product_token="MyBot/2.1 (+https://bot.example)")
    assert opt.token == "MyBot"
    assert any(r.outcome is Outcome.DENY for r in opt.observe(view(html=html)))
    scoped = opt.observe(view({"x-robots-tag": ["mybot: noai"]}))
    assert any(r.outcome is Outcome.DENY for r in scoped)
