"""RSL 1.0 licences: usage tokens per purpose, payment and licence servers, hostile XML."""

from __future__ import annotations

import pytest

from crawler_compliance import Outcome
from crawler_compliance._purpose import Purpose
from crawler_compliance.signals import (
    OptOuts,
    Override,
    RslLicence,
    RslState,
    Signal,
    licence_from_fetch,
    link_licences,
)

LICENCE = "https://site.example/license.xml"


def rsl(contents: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<rsl xmlns="https://rslstandard.org/rsl">{contents}</rsl>'.encode()
    )


def refused(licence: RslLicence, url: str) -> set[Purpose]:
    out = set()
    for purpose in Purpose:
        reasons = OptOuts(purpose=purpose, product_token="Bot").licence_reasons(url, [licence])
        if any(r.outcome is Outcome.DENY for r in reasons):
            out.add(purpose)
    return out


AI = {Purpose.AI_TRAINING, Purpose.AI_INPUT}


@pytest.mark.parametrize(
    ("prohibits", "expected"),
    [
        ("ai-train", {Purpose.AI_TRAINING}),
        ("ai-input", {Purpose.AI_INPUT}),
        ("ai-index", {Purpose.AI_INPUT}),
        ("ai-all", AI),
        ("search", {Purpose.SEARCH_INDEXING}),
        ("all", set(Purpose)),
        ("AI-Train, search", {Purpose.AI_TRAINING, Purpose.SEARCH_INDEXING}),
        ("train-ai", {Purpose.AI_TRAINING}),  # the pre-1.0 templates' spelling
        ("something-new", set()),
    ],
)
def test_prohibited_usage_refuses_its_purposes(prohibits: str, expected: set) -> None:
    doc = RslLicence.parse(
        LICENCE,
        rsl(
            f'<content url="/"><license><prohibits type="usage">{prohibits}</prohibits>'
            "</license></content>"
        ),
    )
    assert doc.state is RslState.OK
    assert refused(doc, "https://site.example/a") == expected


def test_permits_grants_only_what_it_lists() -> None:
    doc = RslLicence.parse(
        LICENCE,
        rsl(
            '<content url="/"><license><permits type="usage">search,ai-index</permits>'
            "</license></content>"
        ),
    )
    assert refused(doc, "https://site.example/a") == set(Purpose) - {
        Purpose.SEARCH_INDEXING,
        Purpose.AI_INPUT,
    }


def test_most_specific_content_applies() -> None:
    doc = RslLicence.parse(
        LICENCE,
        rsl(
            '<content url="/"><license><prohibits type="usage">ai-all</prohibits>'
            "</license></content>"
            '<content url="/open/*"><license><permits type="usage">all</permits>'
            "</license></content>"
            '<content url="https://other.example/"><license><prohibits type="usage">all'
            "</prohibits></license></content>"
        ),
    )
    assert refused(doc, "https://site.example/news") == AI
    assert refused(doc, "https://site.example/open/x") == set()
    assert refused(doc, "https://other.example/x") == set(Purpose)


@pytest.mark.parametrize(
    ("content", "needs"),
    [
        (
            '<content url="/" server="https://rsl.example/api"><license><permits type="usage">all'
            "</permits></license></content>",
            "licence server",
        ),
        (
            '<content url="/"><license><permits type="usage">all</permits><payment type="crawl">'
            '<amount currency="USD">0.01</amount></payment></license></content>',
            "payment crawl",
        ),
        (
            '<content url="/"><license><permits type="usage">all</permits><payment>'
            '<amount currency="EUR">5</amount></payment></license></content>',
            "payment purchase",
        ),
    ],
)
def test_payment_or_server_refuses_unless_an_agreement_names_the_licence(content, needs) -> None:
    doc = RslLicence.parse(LICENCE, rsl(content))
    assert refused(doc, "https://site.example/a") == set(Purpose)
    checker = OptOuts(purpose="ai-training", product_token="Bot")
    reasons = checker.licence_reasons("https://site.example/a", [doc])
    assert any(needs in r.message for r in reasons if r.outcome is Outcome.DENY)
    from crawler_compliance.signals import reasons_for

    findings = doc.findings("https://site.example/a")
    named = Override(Signal.RSL, "LIC-7 §2", agreement="LIC-7", record="site", licence=LICENCE)
    other = Override(
        Signal.RSL, "LIC-7 §2", agreement="LIC-7", record="site", licence=LICENCE + "?v=2"
    )
    lifted = reasons_for(findings, Purpose.AI_TRAINING, overrides=[named])
    assert all(r.outcome is not Outcome.DENY for r in lifted)
    assert any(dict(r.extra).get("agreement") == "LIC-7" for r in lifted)
    kept = reasons_for(findings, Purpose.AI_TRAINING, overrides=[other])
    assert any(r.outcome is Outcome.DENY for r in kept)


def test_free_and_attribution_payment_are_not_payment() -> None:
    for kind in ("free", "attribution"):
        doc = RslLicence.parse(
            LICENCE,
            rsl(
                f'<content url="/"><license><permits type="usage">all</permits>'
                f'<payment type="{kind}"/></license></content>'
            ),
        )
        assert refused(doc, "https://site.example/a") == set()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>
<prohibits type="usage">&lol9;</prohibits></license></content></rsl>"""


def test_billion_laughs_is_refused_and_fails_closed_for_ai(tmp_path) -> None:
    doc = RslLicence.parse(LICENCE, BILLION_LAUGHS)
    assert doc.state is RslState.UNREADABLE and "DTD" in (doc.problem or "")
    assert refused(doc, "https://site.example/a") == AI


def test_external_entities_are_never_read(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("all")  # if it were read, "all" would be prohibited
    for doctype in (
        f'<!DOCTYPE rsl [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE rsl SYSTEM "file://{secret}">',
        '<!DOCTYPE rsl [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>',
        "<!doctype rsl>",
    ):
        body = (
            f'<?xml version="1.0"?>{doctype}<rsl xmlns="https://rslstandard.org/rsl">'
            '<content url="/"><license><prohibits type="usage">&xxe;</prohibits></license>'
            "</content></rsl>"
        ).encode()
        doc = RslLicence.parse(LICENCE, body)
        assert doc.state is RslState.UNREADABLE
        assert refused(doc, "https://site.example/a") == AI


def test_entity_reference_without_dtd_is_not_expanded() -> None:
    doc = RslLicence.parse(
        LICENCE,
        rsl(
            '<content url="/"><license><prohibits type="usage">ai-train &amp; &undefined;'
            "</prohibits></license></content>"
        ),
    )
    # Undefined entity: not well-formed, so unreadable (AI refused), never "allowed".
    assert refused(doc, "https://site.example/a") >= {Purpose.AI_TRAINING}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<rsl",
        b"<notrsl/>",
        rsl(""),  # no <content>
        rsl("<content><license/></content>"),  # content without url
        rsl('<content url="relative/"><license/></content>'),
        b"<rsl>" + b"<content url='/'/>" * 60_000 + b"</rsl>",  # > 512 KiB
    ],
)
def test_malformed_declared_licence_is_unreadable(body: bytes) -> None:
    doc = RslLicence.parse(LICENCE, body)
    assert doc.state is RslState.UNREADABLE
    assert refused(doc, "https://site.example/a") == AI


@pytest.mark.parametrize(("status", "error"), [(404, None), (500, None), (None, "timeout")])
def test_licence_that_cannot_be_fetched_fails_closed_for_ai(status, error) -> None:
    doc = licence_from_fetch(LICENCE, status=status, error=error)
    assert refused(doc, "https://site.example/a") == AI


def test_link_target_that_is_not_rsl_is_ignored() -> None:
    doc = licence_from_fetch(
        "https://creativecommons.org/licenses/by/4.0/",
        status=200,
        body=b"<!doctype html><html><body>CC BY</body></html>",
        declared=False,
    )
    # An HTML page with a doctype is refused as XML, but it was never declared as RSL.
    assert doc.state in (RslState.NOT_RSL, RslState.UNREADABLE)
    html = licence_from_fetch(
        "https://creativecommons.org/licenses/by/4.0/",
        status=200,
        body=b"<html><body>CC BY</body></html>",
        declared=False,
    )
    assert html.state is RslState.NOT_RSL
    assert refused(html, "https://site.example/a") == set()


def test_no_namespace_is_still_read() -> None:
    doc = RslLicence.parse(
        LICENCE,
        b'<rsl><content url="/"><license><prohibits type="usage">ai-train</prohibits>'
        b"</license></content></rsl>",
    )
    assert refused(doc, "https://site.example/a") == {Purpose.AI_TRAINING}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (['<https://site.example/license.xml>; rel="license"'], [LICENCE]),
        (['</license.xml>; rel=license; type="application/rsl+xml"'], [LICENCE]),
        (['</license.xml>; REL="License"'], [LICENCE]),
        (['<https://cc.example/by/>; rel="license"; type="text/html"'], []),
        (['</style.css>; rel=stylesheet, </license.xml>; rel="license"'], [LICENCE]),
        (
            ['</a.xml>; rel="license", </b.xml>; rel="license"', '</a.xml>; rel="license"'],
            ["https://site.example/a.xml", "https://site.example/b.xml"],
        ),
        (['<javascript:alert(1)>; rel="license"'], []),
        (["garbage"], []),
    ],
)
def test_link_header_licences(values, expected) -> None:
    assert link_licences(values, "https://site.example/page") == expected


def test_reason_names_licence_content_and_line() -> None:
    doc = RslLicence.parse(
        LICENCE,
        rsl(
            '\n<content url="/news/">\n<license>\n<prohibits type="usage">ai-train</prohibits>'
            "</license></content>"
        ),
    )
    (reason,) = OptOuts(purpose="ai-training", product_token="Bot").licence_reasons(
        "https://site.example/news/1", [doc]
    )
    assert reason.outcome is Outcome.DENY and reason.source == LICENCE and reason.line == 4
    assert "<content url='/news/'>" in reason.message
    assert dict(reason.extra)["licence"] == LICENCE
