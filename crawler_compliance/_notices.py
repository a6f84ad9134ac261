"""Facts about notices for people: in force today or not, scope sizes, and a self-check.

The self-check (:func:`notices_that_do_not_deny`) decides one URL for every
domain, brand and address of every notice in force and reports each that is
not denied *by that notice*: a typo that silently stops a notice from
applying (a wrong kind of entry, an overriding record) fails CI, not a crawl.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

__all__ = ["NoticeProblem", "notice_state", "notices_that_do_not_deny", "scope_sizes"]


def notice_state(notice: Any, today: dt.date) -> str:
    """Why a notice is (or is not) in force on ``today``, in words ("in force" when it is)."""
    if notice.status == "withdrawn":
        return "withdrawn"
    if notice.status == "superseded":
        return f"superseded by {notice.superseded_by!r}"
    if notice.effective_date > today:
        return f"takes effect on {notice.effective_date}"
    if notice.expires is not None and notice.expires < today:
        return f"expired on {notice.expires}"
    return "in force"


def scope_sizes(notice: Any) -> tuple[int, int, int]:
    """(domains, brands, addresses) over all of a notice's scopes."""
    return (
        sum(len(scope.domains) for scope in notice.scopes),
        sum(len(scope.brands) for scope in notice.scopes),
        sum(len(scope.addresses) for scope in notice.scopes),
    )


@dataclass(frozen=True)
class NoticeProblem:
    """An entry of an active notice whose URL is not denied by that notice."""

    notice_id: str
    entry: str
    url: str
    source: str  # "path:line" of the entry
    decision: Any

    def __str__(self) -> str:
        return (
            f"{self.source}: notice {self.notice_id!r}: {self.entry!r} does not deny: "
            f"{self.url} is {self.decision.verdict.value}ed ({self.decision.summary()})"
        )


def _probe_urls(notice: Any) -> list[tuple[str, str, tuple[str | int, ...]]]:
    probes: list[tuple[str, str, tuple[str | int, ...]]] = []
    for s, scope in enumerate(notice.scopes):
        for i, domain in enumerate(scope.domains):
            probes.append((domain, f"https://{domain}/", ("scopes", s, "domains", i)))
        for i, brand in enumerate(scope.brands):
            probes.append((brand, f"https://{brand}.com/", ("scopes", s, "brands", i)))
        for i, network in enumerate(scope.addresses):
            address = ipaddress.ip_network(str(network), strict=False).network_address
            host = f"[{address}]" if address.version == 6 else str(address)
            probes.append((str(network), f"http://{host}/", ("scopes", s, "addresses", i)))
    return probes


def notices_that_do_not_deny(checker: Any) -> list[NoticeProblem]:
    """Every entry of every notice in force today whose URL that notice does not deny."""
    today = checker._today()
    problems = []
    for notice in checker.policy.notices:
        if not notice.is_active(today):
            continue
        for entry, url, path in _probe_urls(notice):
            decision = checker.decide(url, None, offline=True)
            if any(reason.rule == notice.id for reason in decision.denying_reasons):
                continue
            where = f"{notice.source.path}:{notice.line_of(*path)}"
            problems.append(NoticeProblem(notice.id, entry, url, where, decision))
    return problems
