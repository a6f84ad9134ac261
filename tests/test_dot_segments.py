"""Hole 4: encoded dot segments must not step around robots.txt or stretch a permission.

Servers decode a request path before resolving its dot segments (nginx,
Apache, IIS, Python's http.server, Node's static servers), some read ``\\``
as ``/`` (IIS) or ``..;x`` as ``..`` (Tomcat), and a decoding proxy in front
of a decoding server decodes twice. The decision is taken on every path the
request could be resolved to.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._hosts import MAX_PATH_CANDIDATES, path_candidates
from crawler_compliance.policy import load_policy
from crawler_compliance.robots import robots_from_fetch

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()

# Each of these reaches /private/x on at least one common server.
ESCAPES = [
    "/public/..%2Fprivate/x",
    "/public/..%2fprivate/x",
    "/public/%2e%2e%2fprivate/x",
    "/public/%2E%2E%2Fprivate/x",
    "/public/%2e%2E%2Fprivate/x",
    "/public/.%2e/private/x",
    "/public/%2e./private/x",
    "/public/..%5Cprivate/x",
    "/public/..%5cprivate/x",
    "/public/%2e%2e%5cprivate/x",
    "/public/%2e%2e/private/x",
    "/public/..;/private/x",
    "/public/..;jsessionid=1/private/x",
    "/public/%252e%252e%252fprivate/x",
    "/public/%252E%252E/private/x",
    "/public/..%252fprivate/x",
    "/public/sub/..%2F..%2Fprivate/x",
    "/public/%2e%2e%2f%2e%2e%2fprivate/x",
    "/%70ublic/..%2Fprivate/x",
    "/public/./..%2F./private/x",
    "/public%2F..%2Fprivate%2Fx",
    "/public/x/../../private/x",
    "/public/%u002e%u002e%u002fprivate/x",  # IIS's %u form
    "/public/..%U005Cprivate/x",
    "//private/x",
]


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    return ComplianceChecker(load_policy(REPO / "policies"), clock=lambda: NOW)


def robots(body: str):
    return robots_from_fetch(status=200, body=body.encode(), now=NOW)


@pytest.mark.parametrize("path", ESCAPES)
def test_every_resolution_reaches_the_private_path(path: str) -> None:
    candidates = path_candidates(path)
    assert candidates[0] == path
    assert "/private/x" in candidates


@pytest.mark.parametrize("path", ESCAPES)
def test_encoded_dot_segments_do_not_escape_a_disallow(
    checker: ComplianceChecker, path: str
) -> None:
    rules = robots("User-agent: *\nDisallow: /private/\n")
    decision = checker.decide(f"https://open.example{path}?q=1", rules)
    assert not decision.allowed, path
    assert decision.denying_reasons[0].rule == "Disallow: /private/"


@pytest.mark.parametrize("path", ESCAPES)
def test_encoded_dot_segments_do_not_stretch_a_permission(
    checker: ComplianceChecker, path: str
) -> None:
    # partner.example's agreement covers /catalogue/ and /press/ only.
    url = "https://partner.example" + path.replace("public", "catalogue").replace(
        "private", "admin"
    )
    pre = checker.pre_robots(url)
    assert pre.needs_robots, url  # not settled by the agreement


@pytest.mark.parametrize(
    "path",
    [
        "/catalogue/item%2F1",  # an escaped slash inside the catalogue stays in it
        "/catalogue/a/../b",
        "/catalogue/%2e/b",
        "/catalogue/v1.2/file.html",
    ],
)
def test_paths_that_stay_inside_keep_the_permission(checker: ComplianceChecker, path: str) -> None:
    pre = checker.pre_robots("https://partner.example" + path)
    assert not pre.needs_robots and not pre.denied


@pytest.mark.parametrize(
    "path",
    [
        "/public/file.html",
        "/public/a%2Fb",
        "/public/%2e%2e%2fpublic/y",
        "/public/100%25",
        "/public/caf%C3%A9",
        "/private",  # "/private" is not under "/private/"
    ],
)
def test_harmless_escapes_stay_allowed(checker: ComplianceChecker, path: str) -> None:
    rules = robots("User-agent: *\nDisallow: /private/\n")
    assert checker.decide(f"https://open.example{path}", rules).allowed, path


def test_an_allow_for_one_resolution_does_not_cover_another(checker: ComplianceChecker) -> None:
    # The raw path is explicitly allowed, but a decoding server serves /private/x.
    rules = robots("User-agent: *\nAllow: /public/\nDisallow: /private/\n")
    assert not checker.decide("https://open.example/public/..%2Fprivate/x", rules).allowed


def test_candidates_are_few_and_linear_for_hostile_paths() -> None:
    for hostile in [
        "/" + "..%2F" * 20_000 + "x",
        "/" + "%25" * 60_000,
        "/" + "a/" * 50_000,
        "/" + "%2e%2e%5c;" * 20_000,
        "/" + "%252e" * 20_000,
    ]:
        start = time.perf_counter()
        found = path_candidates(hostile)
        assert len(found) <= MAX_PATH_CANDIDATES
        assert time.perf_counter() - start < 5  # generous guard; benchmarks/ has figures


def test_a_scoped_opt_out_covers_every_resolution() -> None:
    policy = load_policy(REPO / "policies")
    checker = ComplianceChecker(policy, clock=lambda: NOW, purpose="search-indexing")
    rules = robots("User-agent: *\nAllow: /\nContent-Usage: /news/ search=n\n")
    assert not checker.decide("https://open.example/news/a", rules).allowed
    assert not checker.decide("https://open.example/x/..%2Fnews/a", rules).allowed
    assert checker.decide("https://open.example/x/a", rules).allowed


def test_an_ai_crawler_disallow_covers_every_resolution() -> None:
    policy = load_policy(REPO / "policies")
    checker = ComplianceChecker(policy, clock=lambda: NOW, purpose="ai-training")
    if not checker.ai_opt_out:
        pytest.skip("the shipped policy does not honour AI-crawler groups")
    rules = robots("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /private/\n")
    assert not checker.decide("https://open.example/private/a", rules).allowed
    assert not checker.decide("https://open.example/x/%2e%2e%2fprivate/a", rules).allowed
    assert checker.decide("https://open.example/x/a", rules).allowed
