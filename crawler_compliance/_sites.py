"""Legal's per-site records: explicit blocks, explicit permissions, terms review.

A site record covers its domains and every host under them; when records for
``example.com`` and ``shop.example.com`` both exist, the more specific one
speaks first. The order of precedence follows what legal means by each
record: a block always wins, a valid permission (an agreement with the site)
settles the question without robots.txt, and the terms-of-service review
decides what happens to everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler_compliance._decision import Check, Outcome, Reason
from crawler_compliance._hosts import host_suffixes, resolved_path

__all__ = ["SiteOutcome", "SiteRules"]


@dataclass(frozen=True)
class SiteOutcome:
    """What the site records say about one URL.

    ``settled`` is true when the records decide on their own (a block, a
    prohibition, or an explicit permission), so robots.txt is not consulted.
    """

    reasons: tuple[Reason, ...]
    settled: bool


def _source(record: Any) -> tuple[str | None, int | None]:
    ref = getattr(record, "source", None)
    if ref is None:
        return None, None
    return str(ref.path), ref.line


def _path_matches(path: str, prefixes: Sequence[str]) -> bool:
    """Both the path as sent and the path the server resolves must be covered."""
    return all(
        any(candidate.startswith(prefix) for prefix in prefixes)
        for candidate in {path, resolved_path(path)}
    )


class SiteRules:
    """Index of site records by domain, evaluated per URL."""

    def __init__(
        self,
        records: Iterable[Any],
        *,
        unreviewed: str = "deny",
        changed: str = "deny",
    ) -> None:
        self._by_domain: dict[str, list[Any]] = {}
        for record in records:
            for domain in record.domains:
                self._by_domain.setdefault(str(domain).lower().rstrip("."), []).append(record)
        self.unreviewed = unreviewed
        self.changed = changed
        self._memo: dict[str, list[Any]] = {}

    def records_for(self, host: str) -> list[Any]:
        """Records covering *host*, most specific domain first (memoised per host)."""
        found = self._memo.get(host)
        if found is not None:
            return found
        found = []
        for suffix in host_suffixes(host):
            for record in self._by_domain.get(suffix, ()):
                if record not in found:
                    found.append(record)
        if len(self._memo) >= 8192:
            self._memo.clear()
        self._memo[host] = found
        return found

    def evaluate(
        self,
        host: str,
        path: str,
        *,
        purpose: str | None,
        on: dt.date,
        terms_fingerprints: Mapping[str, str] | None = None,
    ) -> SiteOutcome:
        """Apply the records covering *host* to *path* for this crawl's *purpose*.

        ``terms_fingerprints`` maps a terms URL to the SHA-256 of the text
        fetched now; when it differs from the reviewed hash the terms changed
        since review. When it is absent the change check is reported as not
        done rather than silently passed.
        """
        records = self.records_for(host)
        if not records:
            return SiteOutcome(reasons=(), settled=False)
        for record in records:
            if record.block is not None:
                source, line = _source(record)
                return SiteOutcome(
                    reasons=(
                        Reason(
                            Check.SITE,
                            Outcome.DENY,
                            f"blocked by site record {record.id!r}: {record.block.reason}",
                            rule=record.id,
                            source=source,
                            line=line,
                        ),
                    ),
                    settled=True,
                )
        for record in records:
            permission = self._valid_permission(record, path, purpose, on)
            if permission is not None:
                source, line = _source(record)
                expiry = f", expires {permission.expires}" if permission.expires else ""
                return SiteOutcome(
                    reasons=(
                        Reason(
                            Check.SITE,
                            Outcome.ALLOW,
                            f"explicit permission: agreement {permission.agreement!r} "
                            f"in site record {record.id!r}{expiry}",
                            rule=record.id,
                            source=source,
                            line=line,
                            extra=(("agreement", permission.agreement),),
                        ),
                    ),
                    settled=True,
                )
        reasons: list[Reason] = []
        for record in records:
            reasons.extend(self._expired_permissions(record, on))
            terms = self._terms_reason(record, terms_fingerprints or {})
            if terms is not None:
                reasons.append(terms)
                break  # the most specific record with terms speaks for the site
        settled = any(r.outcome is Outcome.DENY for r in reasons)
        return SiteOutcome(reasons=tuple(reasons), settled=settled)

    def permission_for(
        self, host: str, path: str, *, purpose: str | None, on: dt.date
    ) -> tuple[Any, Any] | None:
        """(record, permission) of the permission that covers this URL today, or None.

        Opt-out readers use it to find the agreement's ``overrides``.
        """
        for record in self.records_for(host):
            if record.block is not None:
                return None
        for record in self.records_for(host):
            permission = self._valid_permission(record, path, purpose, on)
            if permission is not None:
                return record, permission
        return None

    @staticmethod
    def _valid_permission(record: Any, path: str, purpose: str | None, on: dt.date) -> Any:
        for permission in record.permissions:
            if permission.granted is not None and permission.granted > on:
                continue
            if permission.expires is not None and permission.expires < on:
                continue
            if permission.purposes is not None and purpose not in permission.purposes:
                continue
            if not _path_matches(path, permission.paths):
                continue
            return permission
        return None

    @staticmethod
    def _expired_permissions(record: Any, on: dt.date) -> list[Reason]:
        source, line = _source(record)
        return [
            Reason(
                Check.SITE,
                Outcome.INFO,
                f"permission {p.agreement!r} in site record {record.id!r} expired on {p.expires}",
                rule=record.id,
                source=source,
                line=line,
            )
            for p in record.permissions
            if p.expires is not None and p.expires < on
        ]

    def _terms_reason(self, record: Any, fingerprints: Mapping[str, str]) -> Reason | None:
        terms = record.terms
        if terms is None:
            return None
        source, line = _source(record)

        def reason(outcome: Outcome, message: str) -> Reason:
            return Reason(Check.TERMS, outcome, message, rule=record.id, source=source, line=line)

        if terms.verdict is None:
            outcome = Outcome.DENY if self.unreviewed == "deny" else Outcome.INFO
            return reason(
                outcome,
                f"terms of service at {terms.url} have not been reviewed "
                f"(policy terms.unreviewed: {self.unreviewed})",
            )
        if terms.verdict == "prohibited":
            return reason(
                Outcome.DENY,
                f"terms of service at {terms.url} prohibit crawling "
                f"(reviewed {terms.reviewed} by {terms.reviewer})",
            )
        current = fingerprints.get(terms.url)
        if terms.sha256 and current and current.lower() != terms.sha256.lower():
            outcome = Outcome.DENY if self.changed == "deny" else Outcome.INFO
            return reason(
                outcome,
                f"terms of service at {terms.url} changed since review on {terms.reviewed} "
                f"(policy terms.changed: {self.changed})",
            )
        conditions = f"; conditions: {terms.conditions}" if terms.conditions else ""
        unchecked = (
            "; change since review not checked (terms page not fetched)"
            if terms.sha256 and not current
            else ""
        )
        return reason(
            Outcome.INFO,
            f"terms of service reviewed {terms.reviewed}: {terms.verdict}{conditions}{unchecked}",
        )
