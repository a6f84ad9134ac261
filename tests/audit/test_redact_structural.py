"""Hole 5: redaction is structural, idempotent, linear, and the same for log lines."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._hosts import AmbiguousURL, proxy_hostport
from crawler_compliance.audit import AuditLog, Redactor, safe_for_log
from crawler_compliance.policy import load_policy
from crawler_compliance.robots import robots_from_fetch

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
TOKEN = r"REDACTED-[0-9a-f]{12}"


@pytest.mark.parametrize(
    "text",
    [
        "redirected from http://h.example/a'b?token=S3CRET",
        'redirected from http://h.example/a"b?token=S3CRET',
        "see <http://h.example/x?token=S3CRET>",
        "(http://h.example/x?token=S3CRET)",
        "from http://u:S3CRET@h.example/",
        "a 'quoted' http://h.example/x;jsessionid=S3CRET/y thing",
        "first http://a.example/ then http://h.example/?sig=S3CRET",
        "no scheme ://u:S3CRET@h.example/",
    ],
)
def test_a_quote_or_bracket_does_not_end_redaction(text: str) -> None:
    assert "S3CRET" not in Redactor().text(text)


@pytest.mark.parametrize(
    "name", ["%2574oken", "%25252574oken", "\uff54\uff4f\uff4b\uff45\uff4e", "TOKEN\x00x"]
)
def test_names_decoded_repeatedly_and_compatibility_forms_are_secret(name: str) -> None:
    assert Redactor().is_secret(name)


def test_redacting_twice_changes_nothing() -> None:
    redactor = Redactor(key=b"k" * 32)
    url = "https://u:p@h.example/a;jsessionid=1?token=abc#access_token=def"
    once = redactor.url(url)
    assert redactor.url(once) == once
    text = f"redirected from {url}"
    assert redactor.text(redactor.text(text)) == redactor.text(text)


def test_safe_for_log_redacts_and_escapes_controls() -> None:
    shown = safe_for_log("http://u:p@h.example/\x1b[2J\r\nFAKE LINE\u2028?token=abc")
    assert "\x1b" not in shown and "\n" not in shown and "\r" not in shown
    assert "\u2028" not in shown and "\\x1b" in shown and "\\u2028" in shown
    assert "u:p" not in shown and "abc" not in shown and re.search(TOKEN, shown)
    keyed = Redactor(key=b"k" * 32)
    assert safe_for_log("http://h/?token=abc", keyed) == keyed.url("http://h/?token=abc")


@pytest.mark.parametrize(
    "text",
    [
        "redirected from http://h/r'" + "a" * 200_000 + "?token=x",
        "x'" + "a1.+-" * 100_000 + "://",
        "a://" * 100_000,
        "http://h/?" + ";a" * 100_000,
        "http:" + "/" * 200_000 + "@" * 10,
    ],
)
def test_redaction_is_linear_on_hostile_text(text: str) -> None:
    start = time.perf_counter()
    Redactor().text(text)
    Redactor().url(text)
    # Generous guard (the quadratic redactor took minutes on these);
    # benchmarks/bench_audit.py prints the figures.
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("proxy", "hostport"),
    [
        ("http://proxy.example:3128", "proxy.example:3128"),
        ("http://u:p@proxy.example:3128", "proxy.example:3128"),
        ("http://u:pa#ss?x@proxy.example:3128", "proxy.example:3128"),
        ("http://u:p/w@proxy.example:3128", "proxy.example:3128"),
        ("u:p@proxy.example:3128", "proxy.example:3128"),
        ("https://u%40x:p@proxy.example", "proxy.example"),
    ],
)
def test_proxy_hostport_reads_the_proxy_as_scrapy_does(proxy: str, hostport: str) -> None:
    assert proxy_hostport(proxy) == hostport


@pytest.mark.parametrize("proxy", ["http:/proxy", "http://u:p@"])
def test_an_unreadable_proxy_is_ambiguous(proxy: str) -> None:
    with pytest.raises(AmbiguousURL):
        proxy_hostport(proxy)


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO / "policies")


def test_robots_reason_is_built_from_the_redacted_query(policy, tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", redact_key=b"k" * 32)
    checker = ComplianceChecker(policy, clock=lambda: NOW, redactor=log.redactor)
    robots = robots_from_fetch(
        status=200, body=b"User-agent: *\nDisallow: /private/\nAllow: /open/\n", now=NOW
    )
    denied = checker.decide("https://open.example/private/x?token=S3CRET&q=1", robots)
    allowed = checker.decide("https://open.example/open/x;sid=S3CRET?key=S3CRET", robots)
    nothing = checker.decide("https://open.example/other?password=S3CRET", robots)
    for decision in (denied, allowed, nothing):
        assert "S3CRET" not in decision.summary()
        assert all("S3CRET" not in r.message for r in decision.reasons)
    [reason] = denied.denying_reasons
    expected = log.redactor.url("/private/x?token=S3CRET&q=1")
    assert reason.message == f"line 2 disallows {expected} (longest matching rule)"
    record = log.append(denied)
    # The message and the url field carry the same token (one redactor).
    token = re.search(TOKEN, record.record["url"])
    assert token and token.group(0) in record.record["reasons"][0]["message"]


def test_redirected_from_is_redacted_before_the_text_exists(policy) -> None:
    checker = ComplianceChecker(policy, clock=lambda: NOW)
    reason = checker.redirected_from("https://u:S3CRET@h.example/a'b?code=S3CRET")
    assert "S3CRET" not in reason.message
    assert reason.message.startswith("redirected from https://REDACTED@h.example/a'b?code=")


def test_a_checker_without_a_redactor_uses_an_unguessable_key(policy) -> None:
    one = ComplianceChecker(policy, clock=lambda: NOW).redirected_from("https://h/?password=1234")
    two = ComplianceChecker(policy, clock=lambda: NOW).redirected_from("https://h/?password=1234")
    assert "1234" not in one.message
    # A keyless digest of "1234" could be found by trying 10 000 PINs: the
    # default key is random, so two checkers give different tokens.
    assert "password=1234" not in one.message
    if "REDACTED" in one.message:
        assert one.message != two.message


def test_a_fetch_reason_naming_a_hop_url_is_redacted(policy) -> None:
    from crawler_compliance.robots._fetchstatus import disallow_all

    checker = ComplianceChecker(policy, clock=lambda: NOW)
    robots = disallow_all(
        "blocked", "robots.txt at https://h.example/r?token=S3CRET was not fetched", now=NOW
    )
    decision = checker.decide("https://open.example/x", robots)
    assert not decision.allowed
    assert all("S3CRET" not in r.message for r in decision.reasons)
