"""Per-crawl terms state, sans-I/O: watched pages by URL, discovery by registrable domain.

The adapter (the Scrapy middleware, the CLI) does the fetching; this object
says what to fetch, keeps what was fetched until it is due again, and turns
it into reasons:

- **Watched pages** (a site record with ``terms.url``): :meth:`TermsWatch.due`
  says whether the page must be fetched (never fetched, or older than
  ``terms.refetch_interval``; an unreachable page is retried after at most
  an hour). :meth:`TermsWatch.pages` is the mapping the checker compares
  against ``terms.sha256``.
- **Discovery** (sites without a record, policy ``terms.discovery``):
  :func:`observe` looks at a page the crawl fetched anyway; when the page is
  itself a terms page it is analysed on the spot, otherwise the first terms
  link found is offered once per registrable domain
  (:meth:`TermsWatch.take_candidate`) for the adapter to fetch, registry
  checked, and hand back through :meth:`TermsWatch.discovered`. In ``deny``
  mode, :meth:`TermsWatch.discovery_reasons` denies further requests to a
  domain whose terms restrict automated access, until legal writes a record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from crawler_compliance._decision import Check, Outcome, Reason
from crawler_compliance.audit import DEFAULT_REDACT_PARAMS, redact_url
from crawler_compliance.terms._discover import FoundBy, TermsLink, find_terms_link, is_terms_path
from crawler_compliance.terms._page import TermsPage, TermsStatus, terms_from_fetch

__all__ = [
    "DISCOVERED_EVENT",
    "Discovery",
    "ResponseLike",
    "TermsWatch",
    "discovery_reason",
    "observe",
    "site_key",
]

DISCOVERED_EVENT = "terms-discovered"  # the ``event`` field of a discovery reason
UNREACHABLE_RETRY = 3600.0  # an unreachable terms page is tried again after at most an hour
MAX_DOMAINS = 10_000  # discovery entries kept; flagged domains are never dropped
PAGES_LOOKED_AT = 5  # pages of one site searched for a terms link before discovery gives up
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class ResponseLike(Protocol):
    """What :func:`observe` needs of a response (the middleware's ``ResponseView``)."""

    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def body_head(self) -> bytes: ...
    @property
    def content_type(self) -> str | None: ...


@dataclass(frozen=True)
class Discovery:
    """What discovery found for one registrable domain."""

    domain: str
    link: TermsLink
    page: TermsPage | None  # None while the terms page has not been fetched

    @property
    def flagged(self) -> bool:
        return self.page is not None and bool(self.page.clauses)


@dataclass
class _Held:
    page: TermsPage
    due_at: float


def _shown(url: str) -> str:
    """A URL as it may appear in text we write (credentials and secrets redacted)."""
    return redact_url(url, DEFAULT_REDACT_PARAMS)


def site_key(host: str, registrable: str | None, *, is_ip: bool) -> str:
    """The key discovery counts one site by: the registrable domain; for a host
    under a suffix the public suffix list does not know (``.example``, an
    intranet name), its last two labels; for an IP address, the address."""
    if registrable:
        return registrable
    if is_ip:
        return host
    return ".".join(host.split(".")[-2:])


class TermsWatch:
    """Terms pages fetched in this crawl, and what discovery found."""

    def __init__(
        self,
        *,
        refetch_interval: float = 86400.0,
        discovery: str = "flag",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if discovery not in ("off", "flag", "deny"):
            raise ValueError(f"terms discovery must be off, flag or deny, not {discovery!r}")
        self.refetch_interval = float(refetch_interval)
        self.discovery = discovery
        self.clock = clock
        self._held: dict[str, _Held] = {}
        self._pages: dict[str, TermsPage] = {}  # the pages not yet due again
        self._next_due = float("inf")
        self._found: dict[str, Discovery] = {}
        self._queue: list[Discovery] = []
        self._looked: dict[str, int] = {}  # pages searched per site without a terms link

    @classmethod
    def from_policy(cls, policy: Any, *, clock: Callable[[], float] = time.time) -> TermsWatch:
        config = policy.config.terms
        return cls(
            refetch_interval=config.refetch_interval, discovery=config.discovery, clock=clock
        )

    # --- watched pages --------------------------------------------------------------

    def due(self, url: str) -> bool:
        """Whether the terms page at *url* must be fetched (again) now."""
        held = self._held.get(url)
        return held is None or self.clock() >= held.due_at

    def store(self, page: TermsPage) -> None:
        """Keep a fetched page until it is due again."""
        wait = self.refetch_interval
        if page.status is TermsStatus.UNREACHABLE:
            wait = min(wait, UNREACHABLE_RETRY)
        due_at = self.clock() + wait
        self._held[page.url] = _Held(page, due_at)
        self._pages[page.url] = page
        self._next_due = min(self._next_due, due_at)

    def pages(self) -> Mapping[str, TermsPage]:
        """The pages not yet due again, by URL: the checker's ``terms_fingerprints``.

        A page past its interval is left out, so the decision asks for it to
        be fetched again instead of relying on it (a stale "changed" or
        "unreachable" would otherwise never be looked at again).
        """
        now = self.clock()
        if now >= self._next_due:
            self._pages = {url: h.page for url, h in self._held.items() if now < h.due_at}
            self._next_due = min(
                (h.due_at for h in self._held.values() if now < h.due_at), default=float("inf")
            )
        return self._pages

    def page(self, url: str) -> TermsPage | None:
        held = self._held.get(url)
        return held.page if held is not None else None

    # --- discovery ------------------------------------------------------------------

    def finding(self, domain: str) -> Discovery | None:
        return self._found.get(domain)

    def worth_looking(self, domain: str) -> bool:
        """Whether to search another page of *domain* for a terms link.

        A site's footer links its terms from every page, so a few pages
        without one mean there is none to find: discovery stops parsing
        that site's pages (bounded cost per site, not per page).
        """
        if domain in self._found:
            return False
        seen = self._looked.get(domain, 0)
        if seen >= PAGES_LOOKED_AT:
            return False
        if len(self._looked) >= MAX_DOMAINS and domain not in self._looked:
            self._looked.clear()
        self._looked[domain] = seen + 1
        return True

    def findings(self) -> list[Discovery]:
        return list(self._found.values())

    def _keep(self, found: Discovery) -> None:
        if found.domain not in self._found and len(self._found) >= MAX_DOMAINS:
            for domain in [d for d, f in self._found.items() if not f.flagged]:
                del self._found[domain]
        self._found[found.domain] = found

    def take_candidate(self, domain: str, link: TermsLink) -> bool:
        """Claim *link* as *domain*'s terms page; true only the first time."""
        if self.discovery == "off" or domain in self._found:
            return False
        self._keep(Discovery(domain, link, None))
        return True

    def offer(self, domain: str, link: TermsLink) -> bool:
        """Claim *link* and queue it for the adapter to fetch (once per domain)."""
        if not self.take_candidate(domain, link):
            return False
        self._queue.append(self._found[domain])
        return True

    def next_fetch(self) -> Discovery | None:
        """The next discovered terms page to fetch, oldest first (``None`` when none)."""
        while self._queue:
            found = self._queue.pop(0)
            if self._found.get(found.domain) is found:
                return found
        return None

    def discovered(self, domain: str, link: TermsLink, page: TermsPage) -> list[Reason]:
        """Record the fetched discovered page; the reasons describe what it says."""
        found = Discovery(domain, link, page)
        self._keep(found)
        return [discovery_reason(found, self.discovery)]

    def discovery_reasons(self, domain: str | None) -> list[Reason]:
        """Reasons for a request to *domain*: in ``deny`` mode a deny once flagged."""
        if self.discovery != "deny" or domain is None:
            return []
        found = self._found.get(domain)
        if found is None or not found.flagged:
            return []
        assert found.page is not None
        first = found.page.clauses[0].sentence
        return [
            Reason(
                Check.TERMS,
                Outcome.DENY,
                f"the terms of service of {domain} at {_shown(found.link.url)} restrict "
                f"automated access and legal has not reviewed them (policy terms.discovery: "
                f"deny): «{first}»",
                rule="discovered",
                extra=(("terms_url", _shown(found.link.url)),),
            )
        ]


def discovery_reason(found: Discovery, mode: str) -> Reason:
    """The audit reason for a discovered terms page (evidence when flagged)."""
    link = found.link
    page = found.page
    url = _shown(link.url)
    how = {
        FoundBy.REL: 'a rel="terms-of-service" link',
        FoundBy.ANCHOR_TEXT: f"the link text {link.text!r}",
        FoundBy.PATH: "its path",
    }[link.found_by]
    extra: list[tuple[str, Any]] = [
        ("event", DISCOVERED_EVENT),
        ("site", found.domain),
        ("terms_url", url),
        ("found_by", link.found_by.value),
    ]
    if page is None or page.status is TermsStatus.UNREACHABLE:
        problem = page.problem if page is not None else "not fetched"
        return Reason(
            Check.TERMS,
            Outcome.INFO,
            f"terms page of {found.domain} found at {url} (by {how}) but not read: {problem}",
            rule="discovered",
            extra=(*extra, ("terms_status", page.detail if page else "not-fetched")),
        )
    extra.append(("terms_sha256", page.sha256))
    if not page.clauses:
        return Reason(
            Check.TERMS,
            Outcome.INFO,
            f"terms page of {found.domain} found at {url} (by {how}): no clause restricting "
            "automated access found by keyword matching (not legal advice)",
            rule="discovered",
            extra=tuple(extra),
        )
    extra.append(("evidence", tuple(c.sentence for c in page.clauses)))
    extra.append(("topics", tuple(sorted({t for c in page.clauses for t in c.topics}))))
    count = len(page.clauses)
    return Reason(
        Check.TERMS,
        Outcome.INFO,
        f"terms page of {found.domain} found at {url} (by {how}) has {count} "
        f"clause{'s' if count != 1 else ''} restricting automated access, not reviewed by "
        f"legal (policy terms.discovery: {mode}; keyword matching, not legal advice)",
        rule="discovered",
        extra=tuple(extra),
    )


def observe(view: ResponseLike, checker: Any, watch: TermsWatch) -> list[Reason]:
    """Discovery as a response observer: look at a page the crawl fetched anyway.

    Returns INFO reasons only (a flag is evidence, never a verdict on the
    response itself). Sites with a site record are legal's already and are
    skipped, as are non-HTML responses and errors.
    """
    if watch.discovery == "off" or not 200 <= view.status < 300 or not view.body_head:
        return []
    media = (view.content_type or "").split(";", 1)[0].strip().lower()
    if media not in _HTML_TYPES:
        return []
    canonical, registrable, denying = checker.registry_reasons(view.url)
    if canonical is None or denying:
        return []
    domain = site_key(canonical.host, registrable, is_ip=canonical.is_ip)
    if checker.sites.records_for(canonical.host):
        return []
    if is_terms_path(view.url) and watch.finding(domain) is None:
        # The crawl fetched the terms page itself: read it now, no second fetch.
        link = TermsLink(view.url, FoundBy.PATH, "")
        watch.take_candidate(domain, link)
        page = terms_from_fetch(
            view.url,
            status=view.status,
            body=view.body_head,
            headers={"content-type": view.content_type or "text/html"},
        )
        return watch.discovered(domain, link, page)
    if not watch.worth_looking(domain):
        return []
    found = find_terms_link(view.body_head, view.url)
    if found is None:
        return []
    target, target_registrable, covered = checker.registry_reasons(found.url)
    why = None
    if target is None or covered:
        # Never an extra fetch to a covered host: the link is noted, not followed.
        why = "; ".join(r.message for r in covered) or "not a fetchable URL"
    elif site_key(target.host, target_registrable, is_ip=target.is_ip) != domain:
        # A page cannot send our own fetches to another site.
        why = "it is on another site; add a site record for it if it matters"
    if why is not None:
        watch.take_candidate(domain, found)
        return [
            Reason(
                Check.TERMS,
                Outcome.INFO,
                f"terms page of {domain} linked at {_shown(found.url)} is not fetched: {why}",
                rule="discovered",
                extra=(("terms_url", _shown(found.url)), ("found_by", found.found_by.value)),
            )
        ]
    if not watch.offer(domain, found):
        return []
    return [
        Reason(
            Check.TERMS,
            Outcome.INFO,
            f"terms page of {domain} linked at {_shown(found.url)} "
            f"({found.found_by.value}); to be read once for discovery",
            rule="discovered",
            extra=(("terms_url", _shown(found.url)), ("found_by", found.found_by.value)),
        )
    ]
