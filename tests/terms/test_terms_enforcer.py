"""The enforcement path with terms, sans-I/O: what a plan needs, when, and what is recorded."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._enforcement import Enforcer
from crawler_compliance._identity import crawl_identity
from crawler_compliance._route import Route
from crawler_compliance._sitefiles import FetchedFile, FetchError, SiteFile
from crawler_compliance.audit import AuditLog
from crawler_compliance.policy import load_policy

TEXT = "Terms\nYou may index our pages.\n"
SHA = hashlib.sha256(TEXT.encode()).hexdigest()
SAME = b"<main><h1>Terms</h1><p>You may index our pages.</p></main>"
CHANGED = SAME.replace(b"</main>", b"<p>You may not scrape.</p></main>")
URL = "https://shop.example/terms"


def enforcer(tmp_path: Path, now: list[float]) -> Enforcer:
    root = tmp_path / "pol"
    (root / "sites").mkdir(parents=True)
    (root / "terms").mkdir()
    (root / "policy.yaml").write_text(
        "crawler:\n  product_token: TestBot\n  purpose: research\nterms:\n  refetch_interval: 600\n"
    )
    (root / "terms" / "shop.txt").write_text(TEXT)
    (root / "sites" / "shop.yaml").write_text(
        textwrap.dedent(
            f"""\
            id: shop
            domains: [shop.example]
            terms:
              url: {URL}
              reviewed: 2026-01-01
              verdict: allowed
              sha256: {SHA}
              snapshot: terms/shop.txt
            """
        )
    )
    policy = load_policy(root)
    checker = ComplianceChecker(policy, clock=lambda: now[0])
    identity = crawl_identity(
        user_agent_header=None, compliance_user_agent=None, policy_token="TestBot"
    )
    return Enforcer(checker, AuditLog(tmp_path / "audit.jsonl"), identity=identity)


def terms_needs(plan):
    return [need for need in plan.missing() if need.kind is SiteFile.TERMS]


def test_the_terms_page_is_needed_first_then_held_until_the_interval(tmp_path: Path) -> None:
    now = [1_780_000_000.0]
    e = enforcer(tmp_path, now)
    plan = e.plan("https://www.shop.example/a", Route())
    [need] = terms_needs(plan)
    assert plan.missing()[0] is need  # before robots.txt
    e.supply_terms(plan, need, e.store_terms(need, FetchedFile(URL, 200, SAME)))
    assert [n.kind for n in plan.missing()] == [SiteFile.ROBOTS]
    # Held: the next plan needs no terms fetch...
    assert terms_needs(e.plan("https://shop.example/b", Route())) == []
    now[0] += 601
    # ...until the interval has passed.
    assert len(terms_needs(e.plan("https://shop.example/c", Route()))) == 1


def test_changed_terms_settle_the_plan_without_robots(tmp_path: Path) -> None:
    now = [1_780_000_000.0]
    e = enforcer(tmp_path, now)
    plan = e.plan("https://shop.example/a", Route())
    [need] = terms_needs(plan)
    e.supply_terms(plan, need, e.store_terms(need, FetchedFile(URL, 200, CHANGED)))
    assert plan.missing() == []  # robots.txt no longer needed
    decision = e.conclude(plan)
    assert not decision.allowed and decision.deciding_check.value == "terms"
    e.close()
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["url"] for r in records] == [URL, "https://shop.example/a"]
    said = records[0]["reasons"][0]
    assert said["check"] == "terms" and said["reviewed_sha256"] == SHA
    assert said["current_sha256"] != SHA
    assert records[1]["reasons"][0]["changes"] == ["+ You may not scrape."]


def test_an_unreachable_page_is_retried_within_the_hour(tmp_path: Path) -> None:
    now = [1_780_000_000.0]
    e = enforcer(tmp_path, now)
    plan = e.plan("https://shop.example/a", Route())
    [need] = terms_needs(plan)
    page = e.store_terms(need, FetchedFile(URL, None, error=FetchError.TIMEOUT))
    e.supply_terms(plan, need, page)
    assert not e.conclude(plan).allowed
    now[0] += 599
    assert terms_needs(e.plan("https://shop.example/b", Route())) == []
    now[0] += 2
    assert len(terms_needs(e.plan("https://shop.example/b", Route()))) == 1
