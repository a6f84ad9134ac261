from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler_compliance._decision import Check, Reason, decide
from crawler_compliance.audit import DEFAULT_REDACT_PARAMS, AuditLog, redact_url
from tests.audit.audit_helpers import records

TOKEN = r"REDACTED-[0-9a-f]{12}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@example.com/x", "https://REDACTED@example.com/x"),
        ("https://apikey@example.com", "https://REDACTED@example.com"),
        ("https://a:b@c@example.com:8443/p", "https://REDACTED@example.com:8443/p"),
        ("ftp://u:p@files.example/", "ftp://REDACTED@files.example/"),
        ("https://example.com/@handle", "https://example.com/@handle"),
        ("https://example.com/p?to=a@b.example", "https://example.com/p?to=a@b.example"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
    ],
)
def test_userinfo(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("name", sorted(DEFAULT_REDACT_PARAMS))
def test_every_default_parameter_is_redacted(name: str) -> None:
    out = redact_url(f"https://example.com/p?q=cats&{name}=s3cr3t-value&page=2")
    assert re.fullmatch(rf"https://example\.com/p\?q=cats&{re.escape(name)}={TOKEN}&page=2", out)
    assert "s3cr3t" not in out


@pytest.mark.parametrize(
    "name",
    [
        "TOKEN",
        "Api_Key",
        "X-Amz-Signature",
        "SessionId",  # case-insensitive
        "access_token",
        "oauth-token",
        "my_session",
        "user[password]",
        "client.secret",
        "X-Goog-Credential",
        "%74oken",  # last part / percent-encoded name
    ],
)
def test_names_match_case_insensitively_and_by_their_last_part(name: str) -> None:
    assert re.fullmatch(
        rf"https://e\.example/\?{re.escape(name)}={TOKEN}",
        redact_url(f"https://e.example/?{name}=hunter2"),
    )


@pytest.mark.parametrize(
    "query",
    [
        "q=token",
        "keyword=x",
        "monkey=1",
        "tokens=3",
        "page=2&sort=desc",
        "id=42",
        "token=",
        "token",
        "&&",
        "=value",
    ],
)
def test_other_parameters_are_left_byte_for_byte(query: str) -> None:
    url = f"https://example.com/search?{query}#top"
    assert redact_url(url) == url


def test_the_same_value_gives_the_same_token_and_different_values_differ() -> None:
    a1 = redact_url("https://example.com/a?token=abc")
    a2 = redact_url("https://example.com/a?TOKEN=abc&x=1")
    b = redact_url("https://example.com/a?token=abd")
    assert a1.split("=")[1] == a2.split("=")[1].split("&")[0]
    assert a1 != b


def test_a_key_makes_tokens_unguessable_but_stable() -> None:
    plain = redact_url("https://example.com/?pwd=1234")
    keyed = redact_url("https://example.com/?pwd=1234", key=b"k1")
    assert keyed != plain
    assert keyed == redact_url("https://example.com/?pwd=1234", key=b"k1")
    assert keyed != redact_url("https://example.com/?pwd=1234", key=b"k2")


def test_fragments_written_as_queries_are_redacted() -> None:
    out = redact_url("https://app.example/cb#access_token=ya29.abc&state=xyz")
    assert re.fullmatch(rf"https://app\.example/cb#access_token={TOKEN}&state=xyz", out)
    assert redact_url("https://example.com/doc#section-2") == "https://example.com/doc#section-2"


def test_a_question_mark_in_the_fragment_is_not_a_query() -> None:
    url = "https://example.com/doc#what?token"
    assert redact_url(url) == url


def test_path_parameters_are_redacted() -> None:
    out = redact_url("https://shop.example/cart;jsessionid=ABC123DEF?item=1")
    assert re.fullmatch(rf"https://shop\.example/cart;jsessionid={TOKEN}\?item=1", out)
    assert redact_url("https://example.com/a;v=1/b") == "https://example.com/a;v=1/b"


def test_the_list_is_configurable() -> None:
    url = "https://example.com/?q=secret-search&token=t"
    out = redact_url(url, ["Q"])
    assert re.fullmatch(rf"https://example\.com/\?q={TOKEN}&token=t", out)
    assert redact_url(url, []) == url
    with pytest.raises(TypeError):
        redact_url(url, "token")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/p?token=s3cret&q=1",
        "https://example.com/p?q=1",
        "https://example.com/p?",
        "https://example.com/p?token=",
        "https://example.com/?api_key=s3cret?x=1",
        "https://example.com/p?q=1&password=hunter2&session=abc",
    ],
)
def test_a_query_only_url_is_redacted_as_any_other(url: str) -> None:
    """The shortcut for URLs with only a query gives what the general case gives
    (a trailing ``#`` sends the same URL down the general case)."""
    redacted = redact_url(url)
    general = redact_url(f"{url}#")
    assert redacted == general[: general.rindex("#")] + general[general.rindex("#") + 1 :]
    assert "s3cret" not in redacted and "hunter2" not in redacted


def test_blanks_around_a_query_only_url_are_kept_and_its_secret_redacted() -> None:
    assert redact_url(" https://example.com/p?token=s3cret\t") == (
        f" {redact_url('https://example.com/p?token=s3cret')}\t"
    )


def test_the_log_holds_no_secret_anywhere(log_path: Path) -> None:
    decision = decide(
        "https://bob:hunter2@example.com/a?token=tok-SECRET&q=1",
        [
            Reason(
                Check.ROBOTS,
                "deny",
                "robots.txt at https://x:pw-SECRET@example.com/robots.txt disallows it",
                source="https://example.com/robots.txt?sig=sig-SECRET",
                extra=(("redirects", ["https://example.com/next?session=ses-SECRET"]),),
            )
        ],
        host="example.com",
        registrable_domain="example.com",
    )
    with AuditLog(log_path) as log:
        log.append(decision)
        log.append(decision)
    data = log_path.read_bytes()
    assert b"SECRET" not in data and b"hunter2" not in data and b"bob" not in data
    first, second = records(log_path)
    assert first["url"] == second["url"]  # still groups together
    assert first["url"].startswith("https://REDACTED@example.com/a?token=REDACTED-")
    reason = first["reasons"][0]
    assert "https://REDACTED@example.com/robots.txt disallows it" in reason["message"]
    assert re.fullmatch(rf"https://example\.com/robots\.txt\?sig={TOKEN}", reason["source"])
    assert re.fullmatch(rf"https://example\.com/next\?session={TOKEN}", reason["redirects"][0])


def test_the_log_uses_its_own_parameter_list_and_key(log_path: Path) -> None:
    decision = decide("https://example.com/?q=private&token=t", [])
    with AuditLog(log_path, redact_params=["q"], redact_key=b"k") as log:
        record = log.append(decision).record
    assert record["url"] == redact_url("https://example.com/?q=private&token=t", ["q"], key=b"k")
    assert record["url"].endswith("&token=t")
