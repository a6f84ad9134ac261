"""The purpose model: every signal value against every purpose, through the checker.

Table-driven: robots.txt Content-Signal / Content-Usage lines decided by a real
ComplianceChecker for each purpose; the README carries the same table the
code uses; permissions lift an opt-out only with an override naming it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest

from crawler_compliance import Outcome
from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._purpose import AI_PURPOSES, Purpose, parse_purpose
from crawler_compliance.policy import PolicyError, load_policy
from crawler_compliance.policy._models import Purpose as PurposeNames
from crawler_compliance.robots import robots_from_fetch
from crawler_compliance.signals import TABLE, render_table

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
ALL = set(Purpose)
AI = {Purpose.AI_TRAINING, Purpose.AI_INPUT}
SEARCH = {Purpose.SEARCH_INDEXING}


def test_policy_purposes_are_the_enum() -> None:
    from typing import get_args

    assert get_args(PurposeNames) == tuple(p.value for p in Purpose)
    assert parse_purpose("AI-Input") is Purpose.AI_INPUT
    with pytest.raises(ValueError, match="not a crawl purpose"):
        parse_purpose("ai-trainig")


def test_readme_has_the_signal_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert render_table() in readme
    assert len(TABLE) >= 20


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO / "policies")


def refused(policy, body: str, url: str = "https://open.example/a") -> set[Purpose]:
    robots = robots_from_fetch(status=200, body=body.encode(), now=NOW)
    out = set()
    for purpose in Purpose:
        checker = ComplianceChecker(policy, purpose=purpose, clock=lambda: NOW)
        if not checker.decide(url, robots).allowed:
            out.add(purpose)
    return out


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("Content-Usage: train-ai=n", {Purpose.AI_TRAINING}),
        ("Content-Usage: train-genai=n", {Purpose.AI_TRAINING}),
        ("Content-Usage: train-ai=y, train-genai=n", {Purpose.AI_TRAINING}),
        ("Content-Usage: ai-use=n", {Purpose.AI_INPUT}),
        ("Content-Usage: search=n", SEARCH),
        ("Content-Usage: all=n", ALL),
        ("Content-Usage: bots=n, search=y", ALL - SEARCH),
        ("Content-Usage: all=n, train-ai=y, search=y", ALL - SEARCH - {Purpose.AI_TRAINING}),
        ("Content-Usage: train-ai=y, search=y", set()),
        ("Content-Usage: train-ai=N;src=legal", {Purpose.AI_TRAINING}),
        ("Content-Usage: future-use=n", set()),
        ("Content-Signal: ai-train=no", {Purpose.AI_TRAINING}),
        ("Content-Signal: ai-input=no", {Purpose.AI_INPUT}),
        ("Content-Signal: search=no", SEARCH),
        ("Content-Signal: search=yes, ai-input=yes, ai-train=no", {Purpose.AI_TRAINING}),
        ("Content-Signal: Search=No, AI-Train=No", SEARCH | {Purpose.AI_TRAINING}),
        ("Content-Signal: ai-train=no\nContent-Usage: search=n", SEARCH | {Purpose.AI_TRAINING}),
        ("Content-Signal: ai-train=maybe", set()),
        # Two vocabularies saying opposite things: the stricter one wins.
        ("Content-Usage: search=n\nContent-Signal: search=yes", SEARCH),
        ("Content-Signal: search=no\nContent-Usage: search=y", SEARCH),
        # One vocabulary: the later line overrides the earlier.
        ("Content-Usage: train-ai=n\nContent-Usage: train-ai=y", set()),
    ],
)
def test_robots_txt_signal_per_purpose(policy, lines: str, expected: set) -> None:
    assert refused(policy, f"User-agent: *\nAllow: /\n{lines}\n") == expected


def test_scoped_line_binds_only_its_path(policy) -> None:
    body = "User-agent: *\nAllow: /\nContent-Usage: /news/ train-ai=n\n"
    assert refused(policy, body, "https://open.example/news/1") == {Purpose.AI_TRAINING}
    assert refused(policy, body, "https://open.example/shop/1") == set()


def test_robots_reason_names_line_and_value(policy) -> None:
    robots = robots_from_fetch(
        status=200,
        body=b"User-agent: *\nAllow: /\n\nContent-Signal: search=yes, ai-train=no\n",
        now=NOW,
    )
    checker = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    decision = checker.decide("https://open.example/", robots)
    (deny,) = decision.denying_reasons
    assert deny.check.value == "robots" and deny.line == 4
    assert deny.source == "https://open.example/robots.txt"
    assert "robots.txt line 4" in deny.message and "ai-train=no" in deny.message
    assert dict(deny.extra) == {
        "signal": "content-signal",
        "value": "ai-train=no",
        "where": "robots.txt line 4",
        "binds": ["ai-training"],
    }
    info = [r for r in decision.reasons if r.rule == "search=yes"]
    assert info and info[0].outcome is Outcome.INFO


def test_policy_can_turn_robots_ai_signals_off(tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    config = directory / "policy.yaml"
    config.write_text(
        config.read_text().replace("ai_training_opt_out: true", "ai_training_opt_out: false")
    )
    policy = load_policy(directory)
    assert policy.config.robots.ai_training_opt_out is False
    assert (
        refused(policy, "User-agent: *\nAllow: /\nContent-Usage: train-ai=n, search=n\n") == SEARCH
    )


# -- permissions and overrides ---------------------------------------------------------


def site_policy(tmp_path: Path, permission: str) -> object:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    (directory / "sites" / "lic.yaml").write_text(
        "id: licensed\ndomains: [licensed.example]\npermissions:\n"
        + textwrap.indent(textwrap.dedent(permission), "  ")
    )
    return load_policy(directory)


SIGNAL_ROBOTS = b"User-agent: *\nDisallow: /\nContent-Usage: train-ai=n\n"


def test_permission_without_override_does_not_lift_an_ai_opt_out(tmp_path: Path) -> None:
    policy = site_policy(
        tmp_path, "- agreement: LIC-1\n  purposes: [ai-training, search-indexing]\n"
    )
    robots = robots_from_fetch(status=200, body=SIGNAL_ROBOTS, now=NOW)
    ai = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    pre = ai.pre_robots("https://licensed.example/a")
    assert pre.needs_robots and pre.signals_only
    decision = ai.decide("https://licensed.example/a", robots, pre=pre)
    # The permission lifts "Disallow: /" (a rule) but not train-ai=n (an opt-out).
    assert [r.rule for r in decision.denying_reasons] == ["train-ai=n"]
    search = ComplianceChecker(policy, purpose="search-indexing", clock=lambda: NOW)
    assert not search.pre_robots("https://licensed.example/a").needs_robots
    assert search.decide("https://licensed.example/a", None).allowed


def test_override_naming_the_signal_lifts_it_and_the_audit_says_so(tmp_path: Path) -> None:
    policy = site_policy(
        tmp_path,
        """\
        - agreement: LIC-2
          purposes: [ai-training]
          overrides:
            - signal: content-usage
              reference: LIC-2 clause 4 (training licence)
        """,
    )
    robots = robots_from_fetch(status=200, body=SIGNAL_ROBOTS, now=NOW)
    ai = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    decision = ai.decide(
        "https://licensed.example/a", robots, pre=ai.pre_robots("https://licensed.example/a")
    )
    assert decision.allowed
    lifted = [r for r in decision.reasons if dict(r.extra).get("override")]
    assert lifted and dict(lifted[0].extra)["agreement"] == "LIC-2"
    assert "LIC-2 clause 4" in lifted[0].message and "train-ai=n" in lifted[0].message


def test_override_of_another_signal_does_not_lift_this_one(tmp_path: Path) -> None:
    policy = site_policy(
        tmp_path,
        """\
        - agreement: LIC-3
          overrides:
            - {signal: tdmrep, reference: LIC-3 s.2}
        """,
    )
    robots = robots_from_fetch(status=200, body=SIGNAL_ROBOTS, now=NOW)
    ai = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    pre = ai.pre_robots("https://licensed.example/a")
    assert not ai.decide("https://licensed.example/a", robots, pre=pre).allowed


def test_permission_with_unreadable_robots_fails_closed_for_ai(tmp_path: Path) -> None:
    policy = site_policy(tmp_path, "- agreement: LIC-4\n")
    ai = ComplianceChecker(policy, purpose="ai-input", clock=lambda: NOW)
    pre = ai.pre_robots("https://licensed.example/a")
    down = robots_from_fetch(status=503, body=b"", now=NOW)
    decision = ai.decide("https://licensed.example/a", down, pre=pre)
    assert not decision.allowed and "AI opt-outs are unknown" in decision.summary()
    missing = robots_from_fetch(status=404, body=b"", now=NOW)
    assert ai.decide("https://licensed.example/a", missing, pre=pre).allowed


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "{signal: rsl, reference: x}",
            "overrides.0.licence: an 'rsl' override must name the licence URL",
        ),
        (
            "{signal: tdmrep, reference: x, licence: 'https://a.example/l.xml'}",
            "overrides.0.licence: 'licence' is only for signal 'rsl', not 'tdmrep'",
        ),
        ("{signal: tdm, reference: x}", "overrides.0.signal: 'tdm' is not one of"),
        ("{signal: tdmrep}", "overrides.0.reference: required field is missing"),
        ("{signal: tdmrep, reference: x, agreement: y}", "unknown field 'agreement'"),
    ],
)
def test_bad_override_is_a_located_error(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        site_policy(tmp_path, f"- agreement: LIC-5\n  overrides:\n    - {override}\n")
    (issue,) = info.value.issues
    assert str(issue).startswith(str(tmp_path / "policies" / "sites" / "lic.yaml") + ":")
    assert issue.line == 6  # the override's own line
    assert message in str(issue)


def test_ai_purposes() -> None:
    assert AI_PURPOSES == AI


def test_only_what_is_needed_is_read(tmp_path: Path) -> None:
    from crawler_compliance.robots import RobotsTxt

    policy = site_policy(
        tmp_path,
        """\
        - agreement: LIC-6
          overrides:
            - {signal: tdmrep, reference: LIC-6 s.1}
            - {signal: rsl, reference: LIC-6 s.2, licence: "https://licensed.example/a.xml"}
        """,
    )
    for purpose, tdm in [("ai-training", True), ("research", True), ("search-indexing", False)]:
        checker = ComplianceChecker(policy, purpose=purpose, clock=lambda: NOW)
        assert checker.opt_outs.needs_tdmrep("https://open.example/x") is tdm
        # The agreement lifts TDMRep on its site: no need to read the file there.
        assert checker.opt_outs.needs_tdmrep("https://licensed.example/x") is False
    robots = RobotsTxt.parse(
        b"User-agent: *\nLicense: /a.xml\nLicense: https://licensed.example/b.xml\n"
        b"LICENSE: /a.xml\nlicense:\n"
    )
    urls = ComplianceChecker(policy, clock=lambda: NOW).opt_outs.licence_urls(
        robots, "https://licensed.example/robots.txt"
    )
    assert urls == ["https://licensed.example/a.xml", "https://licensed.example/b.xml"]
    checker = ComplianceChecker(policy, purpose="ai-training", clock=lambda: NOW)
    assert checker.opt_outs.licences_needed("https://licensed.example/x", urls) == [
        "https://licensed.example/b.xml"
    ]
