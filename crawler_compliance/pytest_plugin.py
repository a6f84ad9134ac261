"""pytest plugin: compliance tests in CI, next to a crawler's own tests.

Registered through the ``pytest11`` entry point, so it is active wherever
crawler-compliance is installed. It only adds options and fixtures; it never
changes a test run that does not use them.

Options (or ini keys without the dashes, e.g. ``compliance_policies``):

``--compliance-policies DIR``
    the policy directory (default ``policies``). A relative path is relative to
    pytest's rootdir (where ``pytest.ini`` / ``pyproject.toml`` is), not to the
    directory pytest happens to be started from.
``--compliance-purpose PURPOSE``
    the declared crawl purpose (default: the policy's).

Fixtures:

``compliance_policy``
    the loaded policy (session scope); an invalid policy fails the test with
    every located error.
``compliance_enforcer``
    the :class:`~crawler_compliance.Enforcer` for that policy (session
    scope): the same enforcement path a crawl uses, with no audit log.
``compliance_checker``
    its :class:`ComplianceChecker` (session scope).
``compliance_check``
    ``compliance_check(url) -> Decision``, offline (registry and site
    records), through the enforcer: assert ``.allowed`` or inspect ``.reasons``.
``compliance_spiders``
    ``compliance_spiders(project_dir=".") -> list[SpiderFinding]``: every
    spider of a Scrapy project (relative to the rootdir) with the decision for
    each of its ``start_urls``, ``allowed_domains`` and each request its
    ``start()`` / ``start_requests()`` yield (run with the network refused);
    a spider whose start cannot be evaluated is a finding with
    ``decision=None`` and ``unchecked`` saying why.
``compliance_notices``
    ``compliance_notices() -> list[NoticeProblem]``: every entry of an active
    notice whose URL that notice does not deny (empty when all deny).
``compliance_audit``
    ``compliance_audit(path, checkpoint=None) -> VerifyReport``: verify an
    audit log (and rotated files) against its hash chain and, when given,
    the checkpoint a crawl recorded (``"SEQ:HASH"``): ``.ok``, ``.problem``.
``compliance_terms_unchanged``
    ``compliance_terms_unchanged(record_id, *, proxy=None, timeout=20.0)``:
    fetch the site record's terms page (registry-checked, ``http_proxy`` /
    ``https_proxy`` honoured) and fail the test, with the diff, unless it is
    unchanged since legal's review; returns the fetched ``TermsPage``.

Assertion helpers (failures name the spider, the notice, its file and line, in
full, never truncated): :func:`assert_allowed`, :func:`assert_denied`,
:func:`assert_spiders_compliant`, :func:`assert_notices_deny`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from crawler_compliance._decision import Decision

__all__ = [
    "assert_allowed",
    "assert_denied",
    "assert_notices_deny",
    "assert_spiders_compliant",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compliance", "crawler-compliance")
    group.addoption(
        "--compliance-policies",
        dest="compliance_policies",
        default=None,
        metavar="DIR",
        help="policy directory for compliance_* fixtures, relative to the rootdir "
        "(default: policies)",
    )
    group.addoption(
        "--compliance-purpose",
        dest="compliance_purpose",
        default=None,
        help="declared crawl purpose for compliance_* fixtures",
    )
    parser.addini(
        "compliance_policies",
        "policy directory for compliance_* fixtures (relative to the rootdir)",
        default="policies",
    )
    parser.addini("compliance_purpose", "declared crawl purpose", default="")


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value:
        return str(value)
    ini = config.getini(name)
    return str(ini) if ini else None


def _from_rootdir(config: pytest.Config, value: str | os.PathLike[str]) -> Path:
    path = Path(os.path.expanduser(os.fspath(value)))
    if not path.is_absolute():
        path = Path(config.rootpath) / path
    return Path(os.path.abspath(path))


@pytest.fixture(scope="session")
def compliance_policy(pytestconfig: pytest.Config) -> Any:
    from crawler_compliance.policy import PolicyError, load_policy

    directory = _from_rootdir(
        pytestconfig, _option(pytestconfig, "compliance_policies") or "policies"
    )
    try:
        return load_policy(directory)
    except PolicyError as exc:
        pytest.fail(f"policy {directory} does not load:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def compliance_enforcer(pytestconfig: pytest.Config, compliance_policy: Any) -> Any:
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity

    identity = crawl_identity(
        user_agent_header=None,
        compliance_user_agent=None,
        policy_token=compliance_policy.config.crawler.product_token,
    )
    return Enforcer.from_policy(
        compliance_policy, identity=identity, purpose=_option(pytestconfig, "compliance_purpose")
    )


@pytest.fixture(scope="session")
def compliance_checker(compliance_enforcer: Any) -> Any:
    return compliance_enforcer.checker


@pytest.fixture
def compliance_check(compliance_enforcer: Any) -> Callable[[str], Decision]:
    from crawler_compliance.cli._check import decide_url

    def check(url: str) -> Decision:
        return decide_url(compliance_enforcer, url, offline=True, timeout=0)

    return check


@pytest.fixture
def compliance_spiders(
    pytestconfig: pytest.Config, compliance_enforcer: Any
) -> Callable[..., list[Any]]:
    from crawler_compliance.scrapy._spiders import check_project_spiders

    def run(project_dir: str | os.PathLike[str] = ".", **options: Any) -> list[Any]:
        return check_project_spiders(
            compliance_enforcer, _from_rootdir(pytestconfig, project_dir), **options
        )

    return run


@pytest.fixture
def compliance_notices(compliance_checker: Any) -> Callable[[], list[Any]]:
    from crawler_compliance._notices import notices_that_do_not_deny

    def run() -> list[Any]:
        return notices_that_do_not_deny(compliance_checker)

    return run


@pytest.fixture
def compliance_audit() -> Callable[..., Any]:
    from crawler_compliance.audit import verify_log

    def verify(path: str, checkpoint: str | None = None) -> Any:
        return verify_log(path, checkpoint)

    return verify


# --- assertion helpers ------------------------------------------------------------------
# pytest.fail(..., pytrace=False) prints the whole message as it is: pytest's
# assertion rewriting would truncate a long explanation at default verbosity.


def _reason_lines(decision: Decision) -> list[str]:
    reasons = decision.denying_reasons or decision.reasons
    return [f"    {reason}" for reason in reasons]


def assert_allowed(decision: Decision) -> None:
    """Fail, naming every denying reason (notice, file and line), unless ``decision`` allows."""
    __tracebackhide__ = True
    if not decision.allowed:
        pytest.fail(
            "\n".join([f"{decision.url} is denied:", *_reason_lines(decision)]), pytrace=False
        )


def assert_denied(decision: Decision, *, by: str | None = None) -> None:
    """Fail unless ``decision`` denies (and, with ``by``, a reason names that notice/rule)."""
    __tracebackhide__ = True
    if decision.allowed:
        pytest.fail(
            "\n".join([f"{decision.url} is allowed:", *_reason_lines(decision)]), pytrace=False
        )
    if by is not None and not any(r.rule == by for r in decision.denying_reasons):
        pytest.fail(
            "\n".join([f"{decision.url} is denied, but not by {by!r}:", *_reason_lines(decision)]),
            pytrace=False,
        )


def assert_spiders_compliant(findings: Iterable[Any], *, allow_unchecked: bool = False) -> None:
    """Fail listing every denied URL (spider, source, notice, file and line) and every
    unchecked spider, unless there are none."""
    __tracebackhide__ = True
    findings = list(findings)
    bad = [f for f in findings if f.denied or (f.decision is None and not allow_unchecked)]
    if bad:
        pytest.fail(
            f"{len(bad)} spider finding(s) fail the policy:\n"
            + "\n".join(finding.describe() for finding in bad),
            pytrace=False,
        )


def assert_notices_deny(problems: Iterable[Any]) -> None:
    """Fail listing every active notice entry (file and line) that does not deny."""
    __tracebackhide__ = True
    problems = list(problems)
    if problems:
        pytest.fail(
            f"{len(problems)} notice entr{'y' if len(problems) == 1 else 'ies'} do not deny:\n"
            + "\n".join(str(problem) for problem in problems),
            pytrace=False,
        )


# --- terms of service (issue 8) ----------------------------------------------------------


@pytest.fixture
def compliance_terms_unchanged(compliance_enforcer: Any) -> Callable[..., Any]:
    """Assert that a site record's terms page is unchanged since legal's review."""
    from crawler_compliance.cli._terms import RecordError, compare_record

    def check(record_id: str, *, proxy: str | None = None, timeout: float = 20.0) -> Any:
        try:
            comparison = compare_record(
                compliance_enforcer, record_id, proxy=proxy, timeout=timeout
            )
        except RecordError as exc:
            pytest.fail(str(exc), pytrace=False)
        page = comparison.page
        if comparison.unchanged:
            return page
        if not comparison.changed:
            pytest.fail(
                f"terms of {record_id!r} at {comparison.url} could not be compared with the "
                f"review: {page.problem}",
                pytrace=False,
            )
        shown = comparison.diff() or "(no terms.snapshot: the reviewed text cannot be shown)"
        pytest.fail(
            f"terms of {record_id!r} at {comparison.url} changed since review "
            f"(reviewed sha256 {comparison.reviewed_sha256}, now {page.sha256}):\n{shown}",
            pytrace=False,
        )

    return check
