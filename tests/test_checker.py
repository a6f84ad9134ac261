"""The decision core without any network: order of checks and their reasons."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance.policy import load_policy
from crawler_compliance.robots import robots_from_fetch

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    return ComplianceChecker(load_policy(REPO / "policies"), clock=lambda: NOW)


def robots(body: str):
    return robots_from_fetch(status=200, body=body.encode(), now=NOW)


@pytest.mark.parametrize(
    ("url", "check"),
    [
        ("https://www.youtube.com/watch?v=1", "registry"),
        ("https://m.youtube.com/", "registry"),
        ("https://www.google.co.uk/search", "registry"),
        ("https://www.linkedin.com/in/x", "registry"),
        ("https://github.com/", "registry"),
        ("https://venmo.com/u/x", "registry"),
        ("https://www.paypal.com/", "registry"),
        ("https://x.com/someone", "registry"),
        ("https://t.co/abc", "registry"),
        ("http://evil.example\\@google.com/", "url"),
        ("ftp://example.org/", "url"),
        ("https://blocked.example/", "site"),
    ],
)
def test_denied_before_robots(checker: ComplianceChecker, url: str, check: str) -> None:
    pre = checker.pre_robots(url)
    assert pre.denied and not pre.needs_robots
    decision = checker.decide(url, robots("User-agent: *\nAllow: /\n"), pre=pre)
    assert not decision.allowed
    assert decision.deciding_check.value == check
    assert decision.url == url


def test_registry_reason_names_notice_file_and_line(checker: ComplianceChecker) -> None:
    decision = checker.decide("https://www.youtube.com/watch?v=1", None, offline=True)
    [reason] = decision.denying_reasons
    assert reason.rule == "google-youtube-2020-02"
    assert reason.source.endswith("policies/notices/google-youtube-2020-02.yaml")
    assert reason.line and reason.line > 1
    assert decision.registrable_domain == "youtube.com"


@pytest.mark.parametrize(
    "url",
    [
        "https://notgoogle.com/",
        "https://google.com.evil.example/",
        "https://example.org/",
        "https://youtube.com.attacker.net/x",
    ],
)
def test_lookalikes_are_not_covered(checker: ComplianceChecker, url: str) -> None:
    decision = checker.decide(url, robots("User-agent: *\nDisallow:\n"))
    assert decision.allowed, decision.summary()


def test_explicit_permission_settles_without_robots(checker: ComplianceChecker) -> None:
    pre = checker.pre_robots("https://partner.example/catalogue/item-1")
    assert not pre.needs_robots and not pre.denied
    assert "DPA-2024-017" in pre.reasons[0].message
    # Outside the permitted paths, robots.txt decides again.
    assert checker.pre_robots("https://partner.example/admin/").needs_robots


def test_robots_verdict_carries_line_and_status(checker: ComplianceChecker) -> None:
    result = robots("User-agent: *\nAllow: /\nDisallow: /private\n")
    decision = checker.decide("https://open.example/private/x", result)
    [reason] = decision.denying_reasons
    assert (reason.line, reason.rule) == (3, "Disallow: /private")
    assert decision.robots_status == "200"
    assert decision.robots_fingerprint == result.fingerprint


def test_unreachable_robots_denies_and_missing_robots_fails_closed(
    checker: ComplianceChecker,
) -> None:
    assert not checker.decide("https://open.example/", robots_from_fetch(status=503)).allowed
    assert not checker.decide("https://open.example/", None).allowed
    offline = checker.decide("https://open.example/", None, offline=True)
    assert offline.allowed and offline.offline


def test_terms_prohibited_and_unreviewed(tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    (directory / "sites" / "tos.yaml").write_text(
        "id: tos\ndomains: [tos.example]\nterms:\n  url: https://tos.example/terms\n"
        "  reviewed: 2026-01-01\n  reviewer: legal\n  verdict: prohibited\n"
    )
    (directory / "sites" / "new.yaml").write_text(
        "id: new\ndomains: [new.example]\nterms:\n  url: https://new.example/terms\n"
    )
    checker = ComplianceChecker(load_policy(directory), clock=lambda: NOW)
    assert checker.decide("https://tos.example/", None).deciding_check.value == "terms"
    unreviewed = checker.decide("https://new.example/", None, offline=True)
    assert unreviewed.deciding_check.value == "terms"
    assert "not been reviewed" in unreviewed.denying_reasons[0].message


@pytest.mark.parametrize(
    ("body", "denied"),
    [
        ("User-agent: *\nAllow: /\nContent-Signal: search=yes, ai-train=no\n", True),
        ("User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n", True),
        ("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n", True),
        ("User-agent: *\nAllow: /\nContent-Signal: search=yes, ai-train=yes\n", False),
        ("User-agent: *\nAllow: /\n", False),
    ],
)
def test_ai_training_opt_outs_bind_only_ai_training_crawls(body: str, denied: bool) -> None:
    policy = load_policy(REPO / "policies")
    ai = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    search = ComplianceChecker(policy, purpose="search-indexing", clock=lambda: NOW)
    result = robots(body)
    assert ai.decide("https://open.example/a", result).allowed is not denied
    assert search.decide("https://open.example/a", result).allowed


def test_search_opt_out_binds_search_indexing_and_other_signals_are_recorded() -> None:
    policy = load_policy(REPO / "policies")
    search = ComplianceChecker(policy, purpose="search-indexing", clock=lambda: NOW)
    research = ComplianceChecker(policy, purpose="research", clock=lambda: NOW)
    result = robots("User-agent: *\nAllow: /\nContent-Signal: search=no, ai-train=no\n")
    assert search.decide("https://open.example/", result).deciding_check.value == "robots"
    allowed = research.decide("https://open.example/", result)
    assert allowed.allowed
    assert any("ai-train=no" in r.message and r.outcome == "info" for r in allowed.reasons)


def test_host_header_naming_a_covered_host_denies(checker: ComplianceChecker) -> None:
    decision = checker.decide(
        "https://open.example/",
        robots("User-agent: *\nAllow: /\n"),
        extra_hosts=["www.youtube.com"],
    )
    assert decision.deciding_check.value == "registry"


def test_terms_changed_since_review(tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    reviewed = "a" * 64
    (directory / "sites" / "tos.yaml").write_text(
        "id: tos\ndomains: [tos.example]\nterms:\n  url: https://tos.example/terms\n"
        f"  reviewed: 2026-01-01\n  reviewer: legal\n  verdict: allowed\n  sha256: {reviewed}\n"
    )
    checker = ComplianceChecker(load_policy(directory), clock=lambda: NOW)
    changed = checker.pre_robots(
        "https://tos.example/x", terms_fingerprints={"https://tos.example/terms": "b" * 64}
    )
    assert changed.denied and "changed since review" in changed.reasons[0].message
    same = checker.pre_robots(
        "https://tos.example/x", terms_fingerprints={"https://tos.example/terms": reviewed}
    )
    assert not same.denied and same.needs_robots
    unknown = checker.pre_robots("https://tos.example/x")
    assert not unknown.denied
    assert "not checked" in unknown.reasons[0].message


@pytest.mark.parametrize(
    "url",
    [
        "https://open.example/public/../private/x",
        "https://open.example/public/%2e%2E/private/x",
        "https://open.example//private/x",
        "https://open.example/./private/x",
    ],
)
def test_dot_segments_and_double_slashes_do_not_escape_robots_rules(
    checker: ComplianceChecker, url: str
) -> None:
    decision = checker.decide(url, robots("User-agent: *\nDisallow: /private/\n"))
    assert not decision.allowed
    assert decision.denying_reasons[0].rule == "Disallow: /private/"


def test_dot_segments_do_not_stretch_a_permission(checker: ComplianceChecker) -> None:
    pre = checker.pre_robots("https://partner.example/catalogue/../admin/secret")
    assert pre.needs_robots  # not settled by the agreement, which covers /catalogue/ only


def test_a_misspelt_outcome_fails_at_construction_never_allows() -> None:
    import pytest

    from crawler_compliance import Check, Outcome, Reason

    with pytest.raises(ValueError):
        Reason(Check.SITE, "Deny", "typo")  # type: ignore[arg-type]
    assert Reason(Check.SITE, "deny", "converted").outcome is Outcome.DENY  # type: ignore[arg-type]


def test_decide_builds_the_same_decision_as_the_dataclass() -> None:
    """decide() fills the frozen dataclass directly: equal to one built field by field."""
    import dataclasses

    from crawler_compliance._decision import (
        Check,
        Decision,
        Outcome,
        Reason,
        RecordKind,
        Verdict,
        decide,
    )

    allow = Reason(Check.ROBOTS, Outcome.ALLOW, "ok")
    deny = Reason(Check.REGISTRY, Outcome.DENY, "covered")
    for reasons, verdict in (
        ([allow], Verdict.ALLOW),
        ([allow, deny], Verdict.DENY),
        ([], Verdict.ALLOW),
    ):
        fields = dict(
            host="h.example",
            registrable_domain="h.example",
            offline=True,
            robots_fingerprint="f" * 64,
            robots_status="200",
            kind=RecordKind.SUBRESOURCE,
            vhost="v.example",
            proxy="p:1",
            page="https://h.example/",
        )
        made = decide("https://h.example/x", reasons, **fields)
        assert made == Decision("https://h.example/x", verdict, tuple(reasons), **fields)
        assert dataclasses.asdict(made)["verdict"] is verdict
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.url = "https://other.example/"  # type: ignore[misc]
    assert decide("https://h.example/", [allow]) == Decision(
        "https://h.example/", Verdict.ALLOW, (allow,)
    )
