"""Terms in the policy: snapshots validated, watched terms compared, the new policy.yaml keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import textwrap
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._decision import Check, Outcome
from crawler_compliance.cli import main
from crawler_compliance.policy import PolicyError, load_policy
from crawler_compliance.terms import normalize_html, terms_from_fetch

REPO = Path(__file__).resolve().parents[2]
REVIEWED = "Terms of Use\nYou may browse and index our pages.\n"
SHA = hashlib.sha256(REVIEWED.encode()).hexdigest()
CHANGED_HTML = (
    b"<main><h1>Terms of Use</h1><p>You may browse and index our pages.</p>"
    b"<p>You may not use any robot, spider or other automated means.</p></main>"
)


def write_policy(root: Path, policy_extra: str = "", terms: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "policy.yaml").write_text(
        "crawler:\n  product_token: TestBot\n  purpose: research\n" + policy_extra,
        encoding="utf-8",
    )
    (root / "sites").mkdir(exist_ok=True)
    if terms is None:
        terms = f"""\
            terms:
              url: https://shop.example/terms
              reviewed: 2026-02-01
              reviewer: J. Doe
              verdict: allowed
              sha256: {SHA}
              snapshot: terms/shop.txt
            """
    (root / "sites" / "shop.yaml").write_text(
        "id: shop\ndomains: [shop.example]\n" + textwrap.dedent(terms), encoding="utf-8"
    )
    return root


def write_snapshot(root: Path, text: str | bytes = REVIEWED) -> None:
    (root / "terms").mkdir(exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    (root / "terms" / "shop.txt").write_bytes(data)


def errors(root: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(root)
    return [str(issue) for issue in info.value.issues]


def test_a_valid_snapshot_loads_and_counts_in_the_fingerprint(tmp_path: Path) -> None:
    root = write_policy(tmp_path / "pol")
    write_snapshot(root)
    policy = load_policy(root)
    assert policy.terms_snapshots == {"shop": REVIEWED}
    assert str(root / "terms/shop.txt") in policy.files
    before = policy.fingerprint
    # Re-review: a new snapshot and hash change the policy fingerprint.
    text = REVIEWED + "One more clause.\n"
    write_snapshot(root, text)
    (root / "sites" / "shop.yaml").write_text(
        (root / "sites" / "shop.yaml")
        .read_text()
        .replace(SHA, hashlib.sha256(text.encode()).hexdigest()),
        encoding="utf-8",
    )
    assert load_policy(root).fingerprint != before


def test_validate_reports_a_missing_snapshot_with_its_line(tmp_path: Path, capsys) -> None:
    root = write_policy(tmp_path / "pol")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{root}/sites/shop.yaml:9:13: terms.snapshot: the snapshot file" in out
    assert "does not exist" in out and "terms snapshot https://shop.example/terms --out" in out


def test_validate_reports_a_snapshot_edited_after_review(tmp_path: Path) -> None:
    root = write_policy(tmp_path / "pol")
    write_snapshot(root, REVIEWED.replace("browse", "browse, copy"))
    [error] = errors(root)
    assert error.startswith(f"{root}/sites/shop.yaml:8:11: terms.snapshot: the snapshot file's SHA")
    assert SHA in error


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ("/etc/passwd", "is not a relative path inside the policy directory"),
        ("../outside.txt", "is not a relative path inside the policy directory"),
        ("terms/../../x.txt", "is not a relative path inside the policy directory"),
        ("C:/terms.txt", "is not a relative path inside the policy directory"),
        ("terms\\\\shop.txt", "is not a relative path inside the policy directory"),
    ],
)
def test_snapshot_paths_stay_inside_the_policy_directory(
    tmp_path: Path, snapshot: str, message: str
) -> None:
    terms = f"""\
        terms:
          url: https://shop.example/terms
          reviewed: 2026-02-01
          verdict: allowed
          sha256: {SHA}
          snapshot: "{snapshot}"
        """
    root = write_policy(tmp_path / "pol", terms=terms)
    [error] = errors(root)
    assert "terms.snapshot:" in error and message in error


def test_a_snapshot_link_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(REVIEWED, encoding="utf-8")
    root = write_policy(tmp_path / "pol")
    (root / "terms").mkdir()
    os.symlink(outside, root / "terms" / "shop.txt")
    [error] = errors(root)
    assert "leaves the policy directory" in error


def test_a_snapshot_needs_sha256_and_utf8(tmp_path: Path) -> None:
    terms = """\
        terms:
          url: https://shop.example/terms
          reviewed: 2026-02-01
          verdict: allowed
          snapshot: terms/shop.txt
        """
    root = write_policy(tmp_path / "a", terms=terms)
    [error] = errors(root)
    assert "terms.sha256: a snapshot needs sha256" in error
    latin = "Conditions générales\n".encode("latin-1")
    terms = terms.replace(
        "snapshot:", f"sha256: {hashlib.sha256(latin).hexdigest()}\n          snapshot:"
    )
    root = write_policy(tmp_path / "b", terms=terms)
    write_snapshot(root, latin)
    [error] = errors(root)
    assert "is not UTF-8" in error


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("terms:\n  refetch_interval: 10\n", "terms.refetch_interval"),
        ("terms:\n  refetch_interval: '3600'\n", "terms.refetch_interval"),
        ("terms:\n  max_review_age: 0\n", "terms.max_review_age"),
        ("terms:\n  discovery: maybe\n", "terms.discovery"),
        ("terms:\n  on_unreachable: ignore\n", "terms.on_unreachable"),
        ("terms:\n  discovry: flag\n", "terms.discovry: unknown field"),
    ],
)
def test_bad_terms_settings_are_located(tmp_path: Path, yaml: str, message: str) -> None:
    root = write_policy(tmp_path / "pol", yaml)
    write_snapshot(root)
    [error] = errors(root)
    assert f"{root}/policy.yaml:" in error and message in error


def test_terms_settings_defaults(tmp_path: Path) -> None:
    root = write_policy(tmp_path / "pol")
    write_snapshot(root)
    terms = load_policy(root).config.terms
    assert (
        terms.on_unreachable,
        terms.refetch_interval,
        terms.max_review_age,
        terms.discovery,
    ) == (
        "deny",
        86400,
        None,
        "flag",
    )


# --- watched terms in the decision -------------------------------------------------------


def checker_for(
    tmp_path: Path, policy_extra: str = "", today: str = "2026-03-01"
) -> ComplianceChecker:
    root = write_policy(tmp_path / "pol", policy_extra)
    write_snapshot(root)
    moment = dt.datetime.fromisoformat(today + "T12:00:00+00:00").timestamp()
    return ComplianceChecker(load_policy(root), clock=lambda: moment)


def terms_reason(checker: ComplianceChecker, page):
    pre = checker.pre_robots(
        "https://www.shop.example/catalogue/1",
        terms_fingerprints={"https://shop.example/terms": page},
    )
    [reason] = [r for r in pre.reasons if r.check is Check.TERMS]
    return reason


def test_unchanged_terms_allow_and_say_so(tmp_path: Path) -> None:
    checker = checker_for(tmp_path)
    page = terms_from_fetch(
        "https://shop.example/terms",
        status=200,
        body=b"<h1>Terms of Use</h1><nav>menu</nav><p>You may browse and index our pages.</p>",
    )
    assert page.sha256 == SHA
    reason = terms_reason(checker, page)
    assert reason.outcome is Outcome.INFO
    assert "unchanged since review" in reason.message


def test_changed_terms_deny_with_both_fingerprints_and_what_changed(tmp_path: Path) -> None:
    checker = checker_for(tmp_path)
    page = terms_from_fetch("https://shop.example/terms", status=200, body=CHANGED_HTML)
    reason = terms_reason(checker, page)
    assert reason.outcome is Outcome.DENY
    data = reason.to_dict()
    assert data["reviewed_sha256"] == SHA
    assert data["current_sha256"] == page.sha256 != SHA
    assert data["changes"] == ("+ You may not use any robot, spider or other automated means.",)
    assert "changed since review on 2026-02-01 (policy terms.changed: deny)" in reason.message


def test_changed_terms_warn_when_the_policy_says_so(tmp_path: Path) -> None:
    checker = checker_for(tmp_path, "terms:\n  changed: warn\n")
    page = terms_from_fetch("https://shop.example/terms", status=200, body=CHANGED_HTML)
    reason = terms_reason(checker, page)
    assert reason.outcome is Outcome.INFO and "terms.changed: warn" in reason.message
    assert reason.to_dict()["current_sha256"] == page.sha256


@pytest.mark.parametrize(
    ("fetched", "detail"),
    [
        ({"status": 503}, "503"),
        ({"status": 404}, "404"),
        ({"status": None, "error": "timeout"}, "timeout"),
        ({"status": None, "error": "redirect-loop"}, "redirect-loop"),
        ({"status": 200, "body": b"\x89PNG\r\n\x1a\n\x00\x00" * 100}, "not-a-page"),
        ({"status": 200, "body": b"<p>x</p>", "truncated": True}, "too-large"),
        ({"status": 200, "body": b"<script>only()</script>"}, "empty"),
    ],
)
def test_an_unreachable_watched_page_follows_on_unreachable(
    tmp_path: Path, fetched, detail
) -> None:
    page = terms_from_fetch("https://shop.example/terms", **fetched)
    assert page.detail == detail
    reason = terms_reason(checker_for(tmp_path / "deny"), page)
    assert reason.outcome is Outcome.DENY
    assert "could not be checked against the review" in reason.message
    assert reason.to_dict()["terms_status"] == detail
    lenient = checker_for(tmp_path / "warn", "terms:\n  on_unreachable: warn\n")
    assert terms_reason(lenient, page).outcome is Outcome.INFO


def test_an_old_review_counts_as_unreviewed(tmp_path: Path) -> None:
    page = terms_from_fetch(
        "https://shop.example/terms",
        status=200,
        body=b"<h1>Terms of Use</h1><p>You may browse and index our pages.</p>",
    )
    young = checker_for(tmp_path / "a", "terms:\n  max_review_age: 365\n", today="2026-06-01")
    assert terms_reason(young, page).outcome is Outcome.INFO
    old = checker_for(tmp_path / "b", "terms:\n  max_review_age: 365\n", today="2027-03-01")
    reason = terms_reason(old, page)
    assert reason.outcome is Outcome.DENY
    assert "older than 365 days" in reason.message


def test_not_fetched_is_reported_not_passed(tmp_path: Path) -> None:
    checker = checker_for(tmp_path)
    decision = checker.decide("https://shop.example/x", None, offline=True)
    [reason] = [r for r in decision.reasons if r.check is Check.TERMS]
    assert "change since review not checked" in reason.message


def test_the_demo_policy_has_a_site_whose_terms_changed_since_review() -> None:
    policy = load_policy(REPO / "policies")
    record = next(site for site in policy.sites if site.id == "shop-example")
    assert record.terms is not None and record.terms.snapshot == "terms/shop-example.txt"
    reviewed = policy.terms_snapshots["shop-example"]
    assert hashlib.sha256(reviewed.encode()).hexdigest() == record.terms.sha256
    from examples.standin_web import SHOP_TERMS_NOW

    current = normalize_html(SHOP_TERMS_NOW)
    assert hashlib.sha256(current.encode()).hexdigest() != record.terms.sha256
    page = terms_from_fetch(record.terms.url, status=200, body=SHOP_TERMS_NOW.encode())
    checker = ComplianceChecker(policy)
    pre = checker.pre_robots(
        "http://shop.example/catalogue/", terms_fingerprints={record.terms.url: page}
    )
    [reason] = [r for r in pre.reasons if r.check is Check.TERMS]
    assert reason.outcome is Outcome.DENY
    assert any("automated" in line for line in reason.to_dict()["changes"])
