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
from typing import TYPE_CHECKING, Any

from crawler_compliance._decision import Check, Outcome, Reason
from crawler_compliance._hosts import host_suffixes, path_candidates
from crawler_compliance.terms._diff import change_excerpt
from crawler_compliance.terms._page import TermsPage, TermsStatus

if TYPE_CHECKING:
    from crawler_compliance.policy import Permission, SiteRecord

__all__ = ["SiteOutcome", "SiteRules"]


@dataclass(frozen=True)
class SiteOutcome:
    """What the site records say about one URL.

    ``settled`` is true when the records decide on their own (a block, a
    prohibition, or an explicit permission), so robots.txt is not consulted.
    """

    reasons: tuple[Reason, ...]
    settled: bool


def _source(record: SiteRecord) -> tuple[str | None, int | None]:
    ref = getattr(record, "source", None)
    if ref is None:
        return None, None
    return str(ref.path), ref.line


def _path_matches(path: str, prefixes: Sequence[str]) -> bool:
    """The path as sent and every path a server could resolve it to must be covered."""
    return all(
        any(candidate.startswith(prefix) for prefix in prefixes)
        for candidate in path_candidates(path)
    )


class SiteRules:
    """Index of site records by domain, evaluated per URL."""

    def __init__(
        self,
        records: Iterable[SiteRecord],
        *,
        unreviewed: str = "deny",
        changed: str = "deny",
        on_unreachable: str = "deny",
        max_review_age: int | None = None,
        snapshots: Mapping[str, str] | None = None,
    ) -> None:
        self._by_domain: dict[str, list[SiteRecord]] = {}
        for record in records:
            for domain in record.domains:
                self._by_domain.setdefault(str(domain).lower().rstrip("."), []).append(record)
        self.unreviewed = unreviewed
        self.changed = changed
        self.on_unreachable = on_unreachable
        self.max_review_age = max_review_age
        self.snapshots = dict(snapshots or {})
        self._memo: dict[str, list[SiteRecord]] = {}
        self._excerpts: dict[tuple[str, str], tuple[str, ...]] = {}

    def records_for(self, host: str) -> list[SiteRecord]:
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
        terms_fingerprints: Mapping[str, str | TermsPage] | None = None,
    ) -> SiteOutcome:
        """Apply the records covering *host* to *path* for this crawl's *purpose*.

        ``terms_fingerprints`` maps a terms URL to what was fetched now: a
        :class:`~crawler_compliance.terms.TermsPage` (or only the SHA-256 of
        its normalised text). When it differs from the reviewed hash the terms
        changed since review; an unreachable page falls under
        ``terms.on_unreachable``. When it is absent the change check is
        reported as not done rather than silently passed.
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
            terms = self._terms_reason(record, terms_fingerprints or {}, on)
            if terms is not None:
                reasons.append(terms)
                break  # the most specific record with terms speaks for the site
        settled = any(r.outcome is Outcome.DENY for r in reasons)
        return SiteOutcome(reasons=tuple(reasons), settled=settled)

    def permission_for(
        self, host: str, path: str, *, purpose: str | None, on: dt.date
    ) -> tuple[SiteRecord, Permission] | None:
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
    def _valid_permission(
        record: SiteRecord, path: str, purpose: str | None, on: dt.date
    ) -> Permission | None:
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
    def _expired_permissions(record: SiteRecord, on: dt.date) -> list[Reason]:
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

    @staticmethod
    def _action(setting: str) -> Outcome:
        return Outcome.DENY if setting == "deny" else Outcome.INFO

    def _excerpt(self, record_id: str, page: TermsPage) -> tuple[str, ...]:
        """What changed, for the record: memoised per (record, current text)."""
        reviewed = self.snapshots.get(record_id)
        if reviewed is None or page.sha256 is None:
            return ()
        key = (record_id, page.sha256)
        found = self._excerpts.get(key)
        if found is None:
            found = tuple(change_excerpt(reviewed, page.text))
            if len(self._excerpts) >= 1024:
                self._excerpts.clear()
            self._excerpts[key] = found
        return found

    def _terms_reason(
        self, record: SiteRecord, fingerprints: Mapping[str, str | TermsPage], on: dt.date
    ) -> Reason | None:
        terms = record.terms
        if terms is None:
            return None
        source, line = _source(record)

        def reason(
            outcome: Outcome, message: str, extra: tuple[tuple[str, Any], ...] = ()
        ) -> Reason:
            return Reason(
                Check.TERMS, outcome, message, rule=record.id, source=source, line=line, extra=extra
            )

        if terms.verdict is None:
            return reason(
                self._action(self.unreviewed),
                f"terms of service at {terms.url} have not been reviewed "
                f"(policy terms.unreviewed: {self.unreviewed})",
            )
        if (
            self.max_review_age is not None
            and terms.reviewed is not None
            and (on - terms.reviewed).days > self.max_review_age
        ):
            return reason(
                self._action(self.unreviewed),
                f"the review of the terms of service at {terms.url} ({terms.reviewed}) is older "
                f"than {self.max_review_age} days and counts as unreviewed "
                f"(policy terms.max_review_age; terms.unreviewed: {self.unreviewed})",
            )
        if terms.verdict == "prohibited":
            return reason(
                Outcome.DENY,
                f"terms of service at {terms.url} prohibit crawling "
                f"(reviewed {terms.reviewed} by {terms.reviewer})",
            )
        seen = fingerprints.get(terms.url)
        page = seen if isinstance(seen, TermsPage) else None
        current = page.sha256 if page is not None else seen if isinstance(seen, str) else None
        if page is not None and page.status is TermsStatus.UNREACHABLE and terms.sha256:
            return reason(
                self._action(self.on_unreachable),
                f"terms of service at {terms.url} could not be checked against the review: "
                f"{page.problem} (policy terms.on_unreachable: {self.on_unreachable})",
                (("terms_status", page.detail), ("reviewed_sha256", terms.sha256)),
            )
        if terms.sha256 and current and current.lower() != terms.sha256.lower():
            extra: tuple[tuple[str, Any], ...] = (
                ("reviewed_sha256", terms.sha256),
                ("current_sha256", current.lower()),
            )
            if page is not None:
                excerpt = self._excerpt(record.id, page)
                if excerpt:
                    extra += (("changes", excerpt),)
            return reason(
                self._action(self.changed),
                f"terms of service at {terms.url} changed since review on {terms.reviewed} "
                f"(policy terms.changed: {self.changed})",
                extra,
            )
        conditions = f"; conditions: {terms.conditions}" if terms.conditions else ""
        if terms.sha256 and not current:
            status = "; change since review not checked (terms page not fetched)"
        elif terms.sha256:
            status = "; unchanged since review"
        else:
            status = ""
        extra = (("reviewed_sha256", terms.sha256),) if terms.sha256 and current else ()
        return reason(
            Outcome.INFO,
            f"terms of service reviewed {terms.reviewed}: {terms.verdict}{conditions}{status}",
            extra,
        )
