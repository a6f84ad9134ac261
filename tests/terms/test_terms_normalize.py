"""Normalisation: what survives two fetches of the same terms page, and what does not."""

from __future__ import annotations

import gzip
import hashlib
import time

import pytest

from crawler_compliance.terms import (
    PageKind,
    change_excerpt,
    fingerprint,
    normalize_body,
    normalize_html,
    normalize_text,
    unified_diff,
)

CLAUSES = """
<h1>Terms of Service</h1>
<p>Last updated: March 3, 2026</p>
<p>These terms govern your use of Example.</p>
<p>You may not use any robot, spider or other automated means to access the Service.</p>
<p>Our robots are friendly.</p>
"""


def page(*, build: str, csrf: str, visited: str, extra: str = "", spacing: str = "\n") -> bytes:
    """The same terms page as two fetches would return it, noise varying."""
    return f"""<!DOCTYPE html>
<html lang="en" data-build="{build}">
<head><title>Terms ({build})</title>
<meta name="csrf-token" content="{csrf}">
<script>window.__BUILD__ = "{build}"; console.log("{csrf}");</script>
<style>.x{{color:red}} /* {build} */</style>
<link rel="stylesheet" href="/static/{build}/app.css">
</head>
<body class="page build-{build}">
<header><a href="/">Home</a> <nav><a href="/shop">Shop {build}</a></nav></header>
<div id="onetrust-banner-sdk" class="otFlat">We use cookies ({csrf}). <button>Accept</button></div>
<div class="cookie-consent-{build}">Cookies keep this site running.</div>
<aside>Related: {build}</aside>
<noscript>Please enable JavaScript {build}</noscript>
<template><p>Hidden template {build}</p></template>
<main id="content-{build}">{spacing}{CLAUSES.replace(chr(10), spacing)}{extra}
<form action="/search"><input type="hidden" name="csrf" value="{csrf}"><button>Go</button></form>
<p hidden>ab-test {build}</p>
<div style="display:none">tracking {csrf}</div>
<div aria-hidden="true">{build}</div>
<p>You last visited this page at {visited}.</p>
</main>
<footer>© 2026 Example · build {build}</footer>
<script>track("{csrf}")</script>
</body></html>""".encode()


FIRST = page(build="a1b2c3", csrf="tok-1111", visited="10:32 on 1 Dec 2026")
SECOND = page(
    build="ffee99",
    csrf="tok-2222",
    visited="18:05 on 2 Dec 2026",
    spacing="\n\n\t   ",
)


def test_the_same_page_fetched_twice_with_noise_has_one_fingerprint() -> None:
    first = normalize_body(FIRST, {"content-type": "text/html; charset=utf-8"})
    second = normalize_body(SECOND, {"content-type": "text/html"})
    assert first.kind is PageKind.HTML
    assert first.text == second.text
    assert first.sha256 == second.sha256
    # What is left is what a person reads as the terms.
    assert first.text == (
        "Terms of Service\n"
        "Last updated: [date]\n"
        "These terms govern your use of Example.\n"
        "You may not use any robot, spider or other automated means to access the Service.\n"
        "Our robots are friendly.\n"
        "You last visited this page at [date].\n"
    )
    assert (
        first.sha256 == hashlib.sha256(first.text.encode()).hexdigest() == fingerprint(first.text)
    )


def test_a_new_clause_changes_the_fingerprint_and_the_excerpt_shows_it() -> None:
    clause = "<p>You must not use the content to train machine learning models.</p>"
    changed = page(build="a1b2c3", csrf="tok-1111", visited="10:32 on 1 Dec 2026", extra=clause)
    before = normalize_body(FIRST, {})
    after = normalize_body(changed, {})
    assert before.sha256 != after.sha256
    assert change_excerpt(before.text, after.text) == [
        "+ You must not use the content to train machine learning models."
    ]
    diff = unified_diff(before.text, after.text, reviewed_name="reviewed", current_name="current")
    assert "+You must not use the content to train machine learning models.\n" in diff
    assert diff.startswith("--- reviewed\n+++ current\n")


def test_a_changed_word_changes_the_fingerprint() -> None:
    a = normalize_html("<p>You may copy the catalogue.</p>")
    b = normalize_html("<p>You may not copy the catalogue.</p>")
    assert fingerprint(a) != fingerprint(b)
    assert change_excerpt(a, b) == [
        "- You may copy the catalogue.",
        "+ You may not copy the catalogue.",
    ]


def test_excerpt_is_bounded() -> None:
    old = "\n".join(f"line {i}" for i in range(5000))
    new = "\n".join(f"LINE {i} " + "x" * 500 for i in range(5000))
    start = time.perf_counter()
    excerpt = change_excerpt(old, new)
    assert time.perf_counter() - start < 30  # a generous guard, not a benchmark
    assert len(excerpt) == 9 and excerpt[-1].endswith("more changed lines")
    assert all(len(line) <= 205 for line in excerpt[:-1])


@pytest.mark.parametrize(
    "html",
    [
        '<div class="cookie-banner">We use cookies</div>',
        '<div id="CybotCookiebotDialog">Cookiebot</div>',
        '<section role="dialog" aria-label="Cookie consent">Accept all</section>',
        "<dialog>Closed dialog</dialog>",
        '<div role="navigation">Menu</div>',
        '<div role="banner">Site banner</div>',
        '<p style="visibility: hidden">invisible</p>',
        '<span aria-hidden="TRUE">icon</span>',
        "<svg><text>logo</text></svg>",
        "<iframe>frame</iframe>",
        "<!-- a comment with a build id 123 -->",
        "<?php echo 1 ?>",
    ],
)
def test_banners_hidden_and_chrome_leave_no_text(html: str) -> None:
    assert normalize_html(f"<html><body><main><p>Terms.</p>{html}</main></body></html>") == (
        "Terms.\n"
    )


def test_article_headers_and_a_cookie_policy_body_are_kept() -> None:
    html = """<body><main class="cookie-policy"><article>
    <header><h1>Terms of Use</h1></header><p>Clause one.</p>
    <footer>Questions? Write to legal.</footer></article></main></body>"""
    assert normalize_html(html) == ("Terms of Use\nClause one.\nQuestions? Write to legal.\n")


def test_attributes_never_count() -> None:
    a = normalize_html('<p title="x1" data-csrf="aaa"><a href="/t?s=1">Terms</a> apply.</p>')
    b = normalize_html('<p title="y2" data-csrf="bbb"><a href="/t?s=2">Terms</a> apply.</p>')
    assert a == b == "Terms apply.\n"


def test_blocks_end_lines_inline_elements_do_not() -> None:
    html = "<p>One <b>bold</b><i>word</i>.</p><ul><li>a</li><li>b<br>c</li></ul>"
    html += "<table><tr><td>x</td><td>y</td></tr></table>&nbsp;\u200bz\u00ad"
    assert normalize_html(html) == "One boldword.\na\nb\nc\nx y\nz\n"


def test_unicode_is_nfc() -> None:
    composed = normalize_html("<p>Caf\u00e9</p>")
    decomposed = normalize_html("<p>Cafe\u0301</p>")
    assert composed == decomposed == "Caf\u00e9\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Last updated: March 3, 2026", "Last updated: [date]"),
        ("Last modified 2026-03-03T10:00:00Z", "Last modified [date]"),
        (
            "You last visited this page at 10:32 on 1 Dec 2026.",
            "You last visited this page at [date].",
        ),
        ("Page generated on 01/12/2026 10:32:11", "Page generated on [date]"),
        ("Updated 5 minutes ago", "Updated [date]"),
        ("Last visited on Tuesday, 1 December 2026 at 10:32 GMT", "Last visited on [date]"),
        ("1 December 2026", "[date]"),
        ("2026-12-01 10:32", "[date]"),
        ("(December 2026)", "[date]"),
        # Dates that are part of the terms are content.
        ("These terms apply from 1 January 2026.", "These terms apply from 1 January 2026."),
        ("Effective date: 1 January 2026", "Effective date: 1 January 2026"),
        ("Refunds within 30 days of delivery.", "Refunds within 30 days of delivery."),
    ],
)
def test_timestamp_masking(line: str, expected: str) -> None:
    assert normalize_text(line) == expected + "\n"


def test_text_plain_is_normalised_too() -> None:
    body = b"Terms\r\n\r\n  You   may not scrape.  \r\nLast updated: 2026-01-02\n"
    result = normalize_body(body, {"content-type": "text/plain; charset=utf-8"})
    assert result.kind is PageKind.TEXT
    assert result.text == "Terms\nYou may not scrape.\nLast updated: [date]\n"


@pytest.mark.parametrize(
    ("body", "headers", "encoding"),
    [
        (
            "<p>Caf\u00e9 na\u00efve</p>".encode("latin-1"),
            {"content-type": "text/html; charset=iso-8859-1"},
            "cp1252",
        ),
        (
            '<meta charset="windows-1251"><p>Условия</p>'.encode("cp1251"),
            {"content-type": "text/html"},
            "cp1251",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">'
            "<p>利用規約</p>".encode("shift_jis"),
            {},
            "cp932",  # WHATWG: Shift_JIS labels mean windows-31j
        ),
        ("\ufeff<p>Terms ü</p>".encode("utf-16-le"), {"content-type": "text/html"}, "utf-16-le"),
        ("<p>Caf\u00e9</p>".encode("cp1252"), {"content-type": "text/html"}, "cp1252"),
        ("<p>Caf\u00e9</p>".encode(), {"content-type": "text/html"}, "utf-8"),
    ],
)
def test_charsets_from_header_meta_bom_and_fallback(body, headers, encoding) -> None:
    result = normalize_body(body, headers)
    assert result.ok, result.problem
    assert result.encoding == encoding
    assert "\ufffd" not in result.text
    assert result.text in {"Café naïve\n", "Условия\n", "利用規約\n", "Terms ü\n", "Café\n"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, {}),
        (b"%PDF-1.7 terms", {"content-type": "application/pdf"}),
        (bytes(range(256)) * 64, {"content-type": "text/html"}),
        (b"\x1f\x8b\x08\x00corrupt gzip", {"content-type": "text/html"}),
        (b"<p>terms</p>", {"content-type": "image/png"}),
    ],
)
def test_binary_bodies_are_refused_not_fingerprinted(body, headers) -> None:
    result = normalize_body(body, headers)
    assert result.kind is PageKind.REFUSED
    assert result.sha256 == "" and result.text == ""
    assert result.problem


def test_gzip_is_read_and_a_gzip_bomb_is_bounded() -> None:
    body = gzip.compress(FIRST)
    assert normalize_body(body, {"content-encoding": "gzip"}).text == normalize_body(FIRST).text
    bomb = gzip.compress(b"<p>" + b"a" * (200 * 1024 * 1024) + b"</p>")
    assert len(bomb) < 1024 * 1024
    start = time.perf_counter()
    result = normalize_body(bomb, {"content-type": "text/html"}, max_bytes=1024 * 1024)
    assert time.perf_counter() - start < 30  # a generous guard
    assert result.truncated


def test_hostile_markup_never_raises() -> None:
    deep = "<div>" * 100_000 + "You may not scrape." + "</div>" * 100_000
    for html in (deep, "", "   ", "<", "<!--", "<html>", "\x00<p>x</p>", "<p>" * 50_000):
        text = normalize_html(html)
        assert isinstance(text, str)
    assert normalize_body(deep.encode()).ok
