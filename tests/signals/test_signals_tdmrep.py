"""W3C TDMRep: tdmrep.json fetch outcomes, malformed files, first match, meta over header."""

from __future__ import annotations

import json

import pytest

from crawler_compliance import Outcome
from crawler_compliance._purpose import Purpose
from crawler_compliance.signals import (
    OptOuts,
    ResponseView,
    TdmState,
    tdmrep_from_fetch,
    tdmrep_url,
)

FILE = "https://site.example/.well-known/tdmrep.json"
RULES = [
    {"location": "/open/*", "tdm-reservation": 0},
    {"location": "/articles/*.html$", "tdm-reservation": 1, "tdm-policy": "https://site.example/p"},
    {"location": "/", "tdm-reservation": 1},
]


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def verdicts(tdm, url: str) -> dict[Purpose, Outcome]:
    """The strongest outcome per purpose for one URL."""
    found = {}
    for purpose in Purpose:
        reasons = OptOuts(purpose=purpose, product_token="Bot").tdmrep_reasons(url, tdm)
        found[purpose] = (
            Outcome.DENY if any(r.outcome is Outcome.DENY for r in reasons) else Outcome.INFO
        )
    return found


DENIES_TDM = {
    Purpose.AI_TRAINING: Outcome.DENY,
    Purpose.AI_INPUT: Outcome.DENY,
    Purpose.RESEARCH: Outcome.DENY,
    Purpose.SEARCH_INDEXING: Outcome.INFO,
    Purpose.ARCHIVING: Outcome.INFO,
    Purpose.MONITORING: Outcome.INFO,
    Purpose.OTHER: Outcome.INFO,
}
DENIES_NONE = dict.fromkeys(Purpose, Outcome.INFO)


def test_well_known_url() -> None:
    assert tdmrep_url("https://site.example:8443/a/b?q") == (
        "https://site.example:8443/.well-known/tdmrep.json"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://site.example/open/a.html", DENIES_NONE),  # first match: rule 1
        ("https://site.example/articles/a.html", DENIES_TDM),
        ("https://site.example/other", DENIES_TDM),  # falls through to "/"
    ],
)
def test_first_matching_rule_decides(url: str, expected: dict) -> None:
    tdm = tdmrep_from_fetch(FILE, status=200, body=body(RULES))
    assert tdm.state is TdmState.RULES
    assert verdicts(tdm, url) == expected


def test_rule_order_is_the_files_not_the_longest_pattern() -> None:
    # The spec: "the most specific match is the first in sequence".
    tdm = tdmrep_from_fetch(
        FILE,
        status=200,
        body=body(
            [{"location": "/", "tdm-reservation": 0}, {"location": "/x/", "tdm-reservation": 1}]
        ),
    )
    assert verdicts(tdm, "https://site.example/x/1") == DENIES_NONE


def test_reason_names_file_rule_and_policy() -> None:
    tdm = tdmrep_from_fetch(FILE, status=200, body=body(RULES))
    reasons = OptOuts(purpose="ai-training", product_token="Bot").tdmrep_reasons(
        "https://site.example/articles/a.html", tdm
    )
    (deny,) = reasons
    assert deny.outcome is Outcome.DENY and deny.source == FILE
    assert "tdmrep.json rule 2" in deny.message and "https://site.example/p" in deny.message
    assert dict(deny.extra)["signal"] == "tdmrep"
    assert dict(deny.extra)["value"] == "tdm-reservation=1"


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (404, None, DENIES_NONE),
        (410, None, DENIES_NONE),
        (400, None, DENIES_NONE),
        (401, None, DENIES_TDM),
        (403, None, DENIES_TDM),
        (429, None, DENIES_TDM),
        (500, None, DENIES_TDM),
        (503, None, DENIES_TDM),
        (301, None, DENIES_TDM),  # a redirect nobody followed
        (None, "timeout", DENIES_TDM),
        (None, "dns", DENIES_TDM),
        (None, "too-large", DENIES_TDM),
    ],
)
def test_fetch_outcomes_per_purpose(status, error, expected) -> None:
    tdm = tdmrep_from_fetch(FILE, status=status, error=error, body=b"")
    assert verdicts(tdm, "https://site.example/a") == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"location": "/", "tdm-reservation": 1}',  # an object, not an array
        b"[{'location': '/'}]",  # not JSON
        b"\xff\xfe[]",  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
        b"<html><body>Not found</body></html>",  # a soft 404 page
        b"[" + b'{"location": "/", "tdm-reservation": 0},' * 60_000 + b"{}]",  # > 2 MB
        b"",
    ],
)
def test_unreadable_file_is_not_no_reservation(raw: bytes) -> None:
    tdm = tdmrep_from_fetch(FILE, status=200, body=raw)
    assert tdm.state is TdmState.UNREADABLE
    assert verdicts(tdm, "https://site.example/a") == DENIES_TDM
    reason = OptOuts(purpose="ai-training", product_token="Bot").tdmrep_reasons(
        "https://site.example/a", tdm
    )[0]
    assert "fail closed" in reason.message


@pytest.mark.parametrize(
    "bad_rule",
    [
        {"location": "/", "tdm-reservation": "yes"},
        {"location": "/", "tdm-reservation": 2},
        {"location": "/", "tdm-reservation": True},
        {"location": "/"},
        {"location": "no-slash", "tdm-reservation": 0},
        {"location": 7, "tdm-reservation": 0},
        {"tdm-reservation": 0},
        "not an object",
    ],
)
def test_bad_rule_is_unreadable_for_what_it_may_cover(bad_rule) -> None:
    tdm = tdmrep_from_fetch(
        FILE, status=200, body=body([{"location": "/open/", "tdm-reservation": 0}, bad_rule])
    )
    # Rules before the bad one still decide the URLs they match.
    assert verdicts(tdm, "https://site.example/open/x") == DENIES_NONE
    assert verdicts(tdm, "https://site.example/closed") == DENIES_TDM


def test_soft_404_html_page_is_no_file_but_json_served_as_html_is_read() -> None:
    page = b"<!doctype html><html><body>Page not found</body></html>"
    soft = tdmrep_from_fetch(FILE, status=200, body=page, content_type="text/html; charset=utf-8")
    assert soft.state is TdmState.ABSENT
    assert verdicts(soft, "https://site.example/a") == DENIES_NONE
    # Without an HTML media type the same body is a malformed file: fail closed.
    plain = tdmrep_from_fetch(FILE, status=200, body=page, content_type="text/plain")
    assert verdicts(plain, "https://site.example/a") == DENIES_TDM
    mislabelled = tdmrep_from_fetch(FILE, status=200, body=body(RULES), content_type="text/html")
    assert verdicts(mislabelled, "https://site.example/other") == DENIES_TDM
    broken = tdmrep_from_fetch(FILE, status=200, body=b"[{", content_type="application/json")
    assert verdicts(broken, "https://site.example/a") == DENIES_TDM


def test_reservation_written_as_text_is_read() -> None:
    tdm = tdmrep_from_fetch(
        FILE, status=200, body=body([{"location": "/", "tdm-reservation": "1"}])
    )
    assert verdicts(tdm, "https://site.example/") == DENIES_TDM


def test_empty_array_and_no_match_reserve_nothing() -> None:
    empty = tdmrep_from_fetch(FILE, status=200, body=b"[]")
    assert verdicts(empty, "https://site.example/") == DENIES_NONE
    narrow = tdmrep_from_fetch(
        FILE, status=200, body=body([{"location": "/x", "tdm-reservation": 1}])
    )
    assert verdicts(narrow, "https://site.example/y") == DENIES_NONE


def test_location_matching_is_case_sensitive_and_percent_normalised() -> None:
    tdm = tdmrep_from_fetch(
        FILE, status=200, body=body([{"location": "/Caf%C3%A9/", "tdm-reservation": 1}])
    )
    assert verdicts(tdm, "https://site.example/Café/x") == DENIES_TDM
    assert verdicts(tdm, "https://site.example/café/x") == DENIES_NONE


# -- on the fetched page: meta over header -------------------------------------------


def page(headers: dict, html: bytes = b"") -> ResponseView:
    return ResponseView(
        "https://site.example/a", 200, headers, html, "text/html" if html else "text/plain"
    )


def denied(view: ResponseView, purpose: str = "ai-training") -> bool:
    reasons = OptOuts(purpose=purpose, product_token="Bot").observe(view)
    return any(r.outcome is Outcome.DENY for r in reasons)


@pytest.mark.parametrize(
    ("headers", "html", "expected"),
    [
        ({"tdm-reservation": ["1"]}, b"", True),
        ({"tdm-reservation": [" 1 "]}, b"", True),
        ({"tdm-reservation": ["0"]}, b"", False),
        ({"tdm-reservation": ["maybe"]}, b"", True),  # unreadable: fail closed
        ({"tdm-reservation": ["0", "1"]}, b"", True),  # contradictory repetition
        ({}, b'<head><meta name="tdm-reservation" content="1"></head>', True),
        ({}, b'<head><meta name="TDM-Reservation" content="1"></head>', True),
        (
            {"tdm-reservation": ["1"]},
            b'<head><meta name="tdm-reservation" content="0"></head>',
            False,
        ),
        (
            {"tdm-reservation": ["0"]},
            b'<head><meta name="tdm-reservation" content="1"></head>',
            True,
        ),
        ({}, b'<head></head><body><meta name="tdm-reservation" content="1"></body>', False),
    ],
)
def test_page_reservation_meta_over_header(headers, html, expected) -> None:
    assert denied(page(headers, html)) is expected
    assert denied(page(headers, html), "search-indexing") is False


def test_page_deny_says_fetched_and_discarded_and_names_policy() -> None:
    reasons = OptOuts(purpose="ai-input", product_token="Bot").observe(
        page({"tdm-reservation": ["1"], "tdm-policy": ["https://site.example/policy.json"]})
    )
    (deny,) = [r for r in reasons if r.outcome is Outcome.DENY]
    assert "fetched and discarded" in deny.message
    assert "tdm-reservation header" in deny.message
    assert "https://site.example/policy.json" in deny.message


def test_adapter_fetch_results_are_read_the_same_way() -> None:
    import enum
    from dataclasses import dataclass

    from crawler_compliance.signals import licence_from_fetched, tdmrep_from_fetched

    class Error(enum.Enum):
        TIMEOUT = "timeout"

    @dataclass
    class Fetched:
        url: str
        status: int | None
        body: bytes
        error: Error | None = None

    ok = tdmrep_from_fetched(Fetched(FILE, 200, body(RULES)))
    assert verdicts(ok, "https://site.example/other") == DENIES_TDM
    late = tdmrep_from_fetched(Fetched(FILE, None, b"", Error.TIMEOUT))
    assert late.state is TdmState.UNREADABLE and late.status == "timeout"
    licence = licence_from_fetched(Fetched("https://site.example/l.xml", None, b"", Error.TIMEOUT))
    assert "timeout" in (licence.problem or "")
