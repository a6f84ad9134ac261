"""One enforcement path: the object every adapter decides and records through.

The crawl, the guard, ``crawler-compliance check`` and the pytest plugin all
hold one :class:`Enforcer`. It owns the checker, the audit log, the robots.txt
cache and the own-fetch rule, so no adapter assembles the pipeline itself and
none can disagree with another about a URL. It does no I/O beyond the audit
log: an adapter asks it for a :class:`Plan`, fetches the files the plan says
are missing (through Scrapy's engine, or urllib in the CLI), hands each back
with :meth:`Enforcer.supply`, and :meth:`Enforcer.conclude` decides and
records before returning. A record that cannot be written turns the decision
into a deny (:class:`AuditWriteFailed`): no record, no fetch.

Routes are decided in full: a ``Host`` header naming another virtual host
than the URL's brings that host's registry entries, site records and
robots.txt (fetched through the same connection with that ``Host``) into the
decision; a proxy's host is checked against the registry; a ``Host`` header
outside RFC 9110's grammar, or more than one, is ambiguous and denies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from crawler_compliance._checker import ComplianceChecker, PreCheck
from crawler_compliance._decision import (
    Check,
    Decision,
    Outcome,
    Reason,
    RecordKind,
    Verdict,
    decide,
)
from crawler_compliance._hosts import AmbiguousURL, CanonicalURL, UnfetchableURL, canonicalize
from crawler_compliance._identity import Identity
from crawler_compliance._responses import ResponseObserver, ResponseView
from crawler_compliance._route import Route
from crawler_compliance._sitefiles import FetchedFile, FileNeed, SiteFile, robots_result
from crawler_compliance.robots import DEFAULT_MAX_BYTES, RobotsCache, RobotsResult, product_token
from crawler_compliance.signals import SignalFiles
from crawler_compliance.terms import DEFAULT_MAX_BYTES as TERMS_MAX_BYTES
from crawler_compliance.terms import (
    Discovery,
    TermsPage,
    TermsStatus,
    TermsWatch,
    observe,
    site_key,
    terms_from_fetch,
    terms_from_fetched,
)

if TYPE_CHECKING:
    from pathlib import Path

    from crawler_compliance._policy_audit import Transparency
    from crawler_compliance.audit import AuditLog
    from crawler_compliance.policy import Policy

__all__ = [
    "AuditWriteFailed",
    "Enforcer",
    "OwnFetch",
    "Plan",
    "Settled",
    "StatsSink",
    "TermsDiscovery",
]

_NEEDS_MEMO = 8192
_ORIGIN_MEMO = 8192


class StatsSink(Protocol):
    """What the enforcer counts into (Scrapy's stats collector fits)."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


class _NoStats:
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        return None


class AuditWriteFailed(Exception):
    """The audit record could not be written: the request is denied.

    ``decision`` is the deny that replaces the one that could not be recorded.
    """

    def __init__(self, decision: Decision, error: BaseException) -> None:
        super().__init__(str(error))
        self.decision = decision
        self.error = error


class OwnFetch:
    """A live mark for one of our own fetches.

    Only objects issued by :meth:`Enforcer.open_own_fetch` and not yet closed
    count, and only for the URLs of that fetch (the file's URL and each
    redirect hop as it is followed). A spider cannot forge one, and one it
    somehow copied stops counting when the fetch ends.
    """

    __slots__ = ("__weakref__", "kind", "urls")

    def __init__(self, kind: SiteFile, url: str) -> None:
        self.kind = kind
        self.urls = {url}

    def __repr__(self) -> str:
        return f"<OwnFetch {self.kind.value}>"


@dataclass
class Plan:
    """What deciding one URL takes: the checks so far and the files still needed."""

    url: str
    route: Route
    pre: PreCheck
    context: list[Reason]
    vhost: str | None = None  # the Host header's host, when not the URL's
    vhost_pre: PreCheck | None = None
    needs: list[FileNeed] = field(default_factory=list)
    results: dict[tuple[object, ...], RobotsResult] = field(default_factory=dict)
    denied_early: bool = False  # a check that needs no fetch already denies
    terms: dict[tuple[object, ...], TermsPage] = field(default_factory=dict)  # watched pages
    extra_hosts: tuple[str, ...] = ()  # the route's other hosts, to decide again with terms
    scrapy_safe: bool = True
    # Opt-out files (tdmrep.json, RSL licences): None until the adapter asks for them
    # (Enforcer.signal_needs), then the ones this URL takes.
    signal_needs: list[FileNeed] | None = None

    @property
    def settled(self) -> bool:
        """Nothing to fetch: a reason already denies, or no file is needed."""
        return not self.needs

    def missing(self) -> list[FileNeed]:
        return [
            need
            for need in self.needs
            if need.key not in self.results and need.key not in self.terms
        ]

    def robots_for(self, need: FileNeed) -> RobotsResult | None:
        return self.results.get(need.key)


_new_tuple = tuple.__new__


class Settled(NamedTuple):
    """A page decided from inputs already in hand (:meth:`Enforcer.settled_page`)."""

    decision: Decision
    origin: tuple[str, str, int]
    crawl_delay: float | None  # the robots.txt Crawl-delay for us, clamped; None: none


class _OriginFacts(NamedTuple):
    """What deciding a page of one origin, through one proxy, takes that no path changes.

    ``robots`` is ``None`` when the origin cannot be settled from the cache at all
    (a registry finding or a site record): the full plan runs.
    """

    day: dt.date
    registrable: str | None
    robots: FileNeed | None
    site_key: str | None
    origin: tuple[str, str, int]


class Enforcer:
    """Decide, and record, every request of one crawl or CLI run."""

    def __init__(
        self,
        checker: ComplianceChecker,
        audit: AuditLog | None,
        *,
        identity: Identity,
        robots_cache: RobotsCache | None = None,
        redact: Callable[[str], str] = str,
        on_429: str = "deny",
        spider: str | None = None,
        stats: StatsSink | None = None,
        terms: TermsWatch | None = None,
    ) -> None:
        self.checker = checker
        self.audit = audit
        self.identity = identity
        # (An empty cache is falsy: test for None, not truth.)
        self.robots_cache = robots_cache if robots_cache is not None else RobotsCache()
        self.redact = redact
        self.on_429 = on_429
        self.spider = spider
        self.stats: StatsSink = stats if stats is not None else _NoStats()
        # Bound once: every decision is counted on the per-request path (the
        # Scrapy adapter passes a CrawlStats, which counts without the shim).
        self._inc = self.stats.inc_value
        self._sent_token = identity.sent_token.lower()
        self._live: set[OwnFetch] = set()
        self.records_written = 0
        # Machine-readable opt-outs in responses (X-Robots-Tag, meta, TDMRep, Content-Usage).
        self.observers: list[ResponseObserver] = [checker.opt_outs]
        self.signal_files = SignalFiles(checker.opt_outs, clock=checker.clock)
        # Watched terms pages and discovery (issue 8): one state per crawl or CLI run.
        self.terms = (
            terms
            if terms is not None
            else TermsWatch.from_policy(checker.policy, clock=checker.clock)
        )
        if self.terms.discovery != "off":
            self.observers.append(TermsDiscovery(self))
        self._needs: dict[tuple[object, ...], FileNeed] = {}
        self._identities: dict[tuple[str, ...], tuple[Reason, ...]] = {}

    @property
    def checker(self) -> ComplianceChecker:
        return self._checker

    @checker.setter
    def checker(self, checker: ComplianceChecker) -> None:
        """Use *checker* from now on (a cluster worker reloads the policy this way);
        what was worked out from the previous one is forgotten with it."""
        self._checker = checker
        self._today = checker.today
        self._fingerprint = checker.policy_fingerprint  # fixed for the checker's lifetime
        self._origins: dict[tuple[object, ...], _OriginFacts] = {}
        self._robots_memo: dict[
            tuple[object, ...], tuple[RobotsResult, int, list[FileNeed], float | None]
        ] = {}
        self._delays: weakref.WeakKeyDictionary[RobotsResult, float] = weakref.WeakKeyDictionary()

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        identity: Identity,
        purpose: str | None = None,
        audit_path: str | Path | None = None,
        fsync_every: int | None = None,
        fsync_interval: float | None = None,
        max_bytes: int | None = None,
        redact_key: bytes | None = None,
        transparency: Transparency | None = None,
        robots_cache_size: int = 10_000,
        suffix_list_file: str | None = None,
        spider: str | None = None,
        stats: StatsSink | None = None,
    ) -> Enforcer:
        """The one assembly of checker, audit log, cache and redaction from a policy.

        The crawl, the CLI and the pytest plugin all build their enforcer
        here. Raises ``ValueError`` for a bad suffix list and
        ``AuditLogError``/``OSError`` for an audit log that cannot be opened.
        """
        from crawler_compliance._policy_audit import open_audit_log, redact_params
        from crawler_compliance.audit import Redactor

        # One redactor for the reasons the checker writes, the log lines and the
        # records' url field: all show the same tokens.
        redactor = Redactor(redact_params(policy), redact_key)
        checker = ComplianceChecker(
            policy,
            user_agent=identity.robots_token,
            purpose=purpose,
            suffix_list_file=suffix_list_file,
            redactor=redactor,
        )
        audit = None
        if audit_path is not None:
            audit = open_audit_log(
                policy,
                audit_path,
                fsync_every=fsync_every,
                fsync_interval=fsync_interval,
                max_bytes=max_bytes,
                redact_key=redact_key,
                transparency=transparency,
            )
        robots_policy = policy.config.robots
        return cls(
            checker,
            audit,
            identity=identity,
            robots_cache=RobotsCache(
                max_origins=robots_cache_size,
                max_stale=robots_policy.max_stale,
                max_ttl=robots_policy.cache_ttl,
            ),
            redact=redactor.url,
            on_429=robots_policy.on_429,
            spider=spider,
            stats=stats,
        )

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()

    # -- recording ----------------------------------------------------------------

    def record(self, decision: Decision) -> Decision:
        """Append *decision* to the audit log and count it; return it.

        Raises :class:`AuditWriteFailed` (carrying a deny) when the record
        cannot be written: the caller must not fetch.
        """
        if self.audit is not None:
            try:
                self.audit.append(
                    decision,
                    spider=self.spider,
                    purpose=self._checker.purpose,
                    policy_fingerprint=self._fingerprint,
                )
            except Exception as exc:
                self.stats.inc_value("compliance/audit/write_error")
                self.stats.inc_value("compliance/denied")
                denied = decide(
                    decision.url,
                    [Reason(Check.INTERNAL, Outcome.DENY, f"audit log not writable: {exc}")],
                    host=decision.host,
                    kind=decision.kind,
                )
                raise AuditWriteFailed(denied, exc) from exc
            self.records_written += 1
        if decision.kind is RecordKind.PAGE and decision.verdict is Verdict.ALLOW:
            self._inc("compliance/allowed")  # the crawl's usual record, counted at once
        else:
            self._count(decision)
        return decision

    def _count(self, decision: Decision) -> None:
        inc = self._inc
        kind = decision.kind
        if kind is RecordKind.OWN_FETCH:
            return  # counted by the fetcher (compliance/<file>/fetch_*)
        if decision.allowed:
            if kind is RecordKind.PAGE:
                inc("compliance/allowed")
            else:
                inc(f"compliance/{kind.value}/allowed")
            return
        check = decision.deciding_check or Check.INTERNAL
        inc("compliance/denied")
        inc(f"compliance/{check.value}/denied")
        if kind is not RecordKind.PAGE:
            inc(f"compliance/{kind.value}/denied")

    def internal_error(self, url: str, exc: BaseException, *, kind: RecordKind) -> Decision:
        """Fail closed: a bug or unexpected failure denies the request (not yet recorded)."""
        message = f"internal error: {type(exc).__name__}: {self.redact(str(exc))}"
        return decide(url, [Reason(Check.INTERNAL, Outcome.DENY, message)], kind=kind)

    # -- our own fetches ----------------------------------------------------------

    def open_own_fetch(self, kind: SiteFile, url: str) -> OwnFetch:
        own = OwnFetch(kind, url)
        self._live.add(own)
        return own

    def close_own_fetch(self, own: OwnFetch) -> None:
        self._live.discard(own)

    def own_fetch_of(self, mark: object, url: str) -> OwnFetch | None:
        """The live own fetch *mark* stands for, if it is one and covers *url*."""
        if isinstance(mark, OwnFetch) and mark in self._live and url in mark.urls:
            return mark
        return None

    def decide_own_fetch(
        self, url: str, own: OwnFetch, route: Route, *, scrapy_safe: bool = True
    ) -> Decision:
        """Decide and record one of our own fetches (or a redirect hop of one).

        Only the URL and registry checks apply — site records and robots.txt
        govern pages, not reading robots.txt — for the URL, the ``Host`` it is
        sent with and the proxy: nothing is fetched from a covered host.
        """
        reasons: list[Reason] = []
        hosts = [route.proxy] if route.proxy else []
        try:
            vhost = route.vhost()
        except AmbiguousURL as exc:
            reasons.append(Reason(Check.URL, Outcome.DENY, f"ambiguous route: {exc}"))
            vhost = None
        if vhost is not None:
            hosts.append(_netloc(*vhost))
        canonical, registrable, found = self.checker.registry_reasons(
            url, extra_hosts=hosts, scrapy_safe=scrapy_safe
        )
        reasons.extend(found)
        # Each kind of own fetch under its own check name, so reports keep them apart.
        check = Check.TERMS if own.kind is SiteFile.TERMS else Check.ROBOTS
        reasons.append(Reason(check, Outcome.INFO, f"{own.kind.value} fetch by crawler-compliance"))
        decision = decide(
            url,
            reasons,
            host=canonical.host if canonical else None,
            registrable_domain=registrable,
            kind=RecordKind.OWN_FETCH,
            vhost=vhost[0] if vhost else None,
            proxy=route.proxy,
        )
        return self.record(decision)

    # -- pages --------------------------------------------------------------------

    def identity_reasons(self, route: Route) -> tuple[Reason, ...]:
        """A request that identifies as someone else than the crawl is denied.

        robots.txt was matched for the crawl's own token; a request sending
        another (or two ``User-Agent`` values, which servers read either way)
        would be judged by rules nobody asked about.
        """
        agents = route.user_agents
        if not agents:
            return ()
        known = self._identities.get(agents)
        if known is None:
            known = tuple(self._identity_reasons(agents))
            if len(self._identities) >= _NEEDS_MEMO:
                self._identities.clear()
            self._identities[agents] = known
        return known

    def _identity_reasons(self, agents: tuple[str, ...]) -> list[Reason]:
        if len(agents) > 1:
            return [
                Reason(
                    Check.ROBOTS,
                    Outcome.DENY,
                    f"the request sends {len(agents)} User-Agent values; robots.txt was "
                    f"decided for {self.identity.sent_token!r} only",
                )
            ]
        token = product_token(agents[0])
        if token.lower() == self._sent_token:
            return []
        return [
            Reason(
                Check.ROBOTS,
                Outcome.DENY,
                f"the request sends User-Agent {token!r}, not the crawl's "
                f"{self.identity.sent_token!r} for which robots.txt was decided",
            )
        ]

    def settled_page(self, url: str, route: Route) -> Settled | None:
        """Decide and record a page whose every input is already in hand; else ``None``.

        The crawl's common case: a Scrapy-safe URL sent with no ``Host``
        header and the crawl's identity, to an origin with no registry
        finding and no site record, whose robots.txt and opt-out files are
        all cached. It applies the same checks as :meth:`plan` then
        :meth:`conclude` to the same cached inputs, and records the same
        decision (the tests compare the two), without building a plan: the
        per-origin facts are worked out once per origin, proxy and day.
        Anything else (a file to fetch, a deny before robots.txt, a vhost,
        another identity) gives ``None``, and the caller takes the full path.
        """
        if route.host_headers or (route.user_agents and self.identity_reasons(route)):
            return None
        try:
            canonical = canonicalize(url, scrapy_safe=True)
        except UnfetchableURL:
            return None
        proxy = route.proxy
        key = (canonical.scheme, canonical.host, canonical.port, proxy)
        today = self._today()
        facts = self._origins.get(key)
        if facts is None or facts.day != today:
            facts = self._origin_facts(canonical, proxy, today)
            if len(self._origins) >= _ORIGIN_MEMO:
                self._origins.clear()
            self._origins[key] = facts
        need = facts.robots
        if need is None:
            return None
        terms = self.terms
        if terms.discovery == "deny" and terms.discovery_reasons(facts.site_key):
            return None
        robots = self.robots_cache.get(need.key)
        if robots is None:
            return None
        reasons = self._checker.robots_reasons(canonical, robots, need.url)
        version = self._checker.opt_outs.links_version
        known = self._robots_memo.get(key)
        if known is not None and known[0] is robots and known[1] == version:
            needs, delay = known[2], known[3]
        else:
            needs, delay = self._from_robots(key, canonical, robots, proxy, version)
        if needs:
            for reason in reasons:
                if reason.outcome is Outcome.DENY:
                    break  # denied by robots.txt: the files are not read
            else:
                found = self.signal_files.cached_reasons(canonical, needs)
                if found is None:
                    return None  # an opt-out file to fetch first
                reasons.extend(found)
        decision = decide(
            url,
            reasons,
            host=canonical.host,
            registrable_domain=facts.registrable,
            robots_status=robots.status,
            robots_fingerprint=robots.fingerprint,
            proxy=proxy,
        )
        self.record(decision)
        # (A NamedTuple's own __new__ is a Python function: built as the tuple it is.)
        return _new_tuple(Settled, (decision, facts.origin, delay))

    def _from_robots(
        self,
        key: tuple[object, ...],
        canonical: CanonicalURL,
        robots: RobotsResult,
        proxy: str | None,
        version: int,
    ) -> tuple[list[FileNeed], float | None]:
        """The opt-out files a settled origin needs, and its Crawl-delay, into the memo.

        With no site record (no agreement), the files depend only on the
        origin and proxy (*key*), its robots.txt (the licences it declares)
        and the licences its responses named (*version*, ``OptOuts.links_version``);
        the delay (clamped, as :meth:`crawl_delay`) on its robots.txt alone.
        :meth:`settled_page` reads the memo first and calls this on a miss.
        """
        needs = self.signal_files.all_needs(canonical, robots, proxy=proxy)
        delay = self._delay_of(robots) or None
        if delay:
            delay = min(delay, float(self.checker.policy.config.robots.max_crawl_delay))
        if len(self._robots_memo) >= _ORIGIN_MEMO:
            self._robots_memo.clear()
        self._robots_memo[key] = (robots, version, needs, delay)
        return needs, delay

    def _origin_facts(
        self, canonical: CanonicalURL, proxy: str | None, today: dt.date
    ) -> _OriginFacts:
        """The per-origin facts :meth:`settled_page` relies on (see :meth:`plan`)."""
        reasons, registrable = self.checker.host_facts(canonical, (proxy,) if proxy else (), today)
        if reasons or self.checker.sites.records_for(canonical.host):
            # Registry findings deny; site records bring path rules and terms: plan it.
            return _OriginFacts(today, registrable, None, None, canonical.origin)
        need = self._robots_need(canonical, Route(proxy=proxy), None)
        key = site_key(canonical.host, registrable, is_ip=canonical.is_ip)
        return _OriginFacts(today, registrable, need, key, canonical.origin)

    def plan(
        self,
        url: str,
        route: Route,
        *,
        scrapy_safe: bool = True,
        context: Iterable[Reason] = (),
        offline: bool = False,
    ) -> Plan:
        """The checks that need no fetch, and the robots.txt files still needed."""
        context_reasons = [*context, *self.identity_reasons(route)]
        extra_hosts = [route.proxy] if route.proxy else []
        vhost = None
        try:
            vhost = route.vhost()
        except AmbiguousURL as exc:
            context_reasons.append(Reason(Check.URL, Outcome.DENY, f"ambiguous route: {exc}"))
        if vhost is not None:
            extra_hosts.append(_netloc(*vhost))
        pre = self.checker.pre_robots(
            url,
            extra_hosts=extra_hosts,
            scrapy_safe=scrapy_safe,
            terms_fingerprints=self.terms.pages(),
        )
        plan = Plan(
            url,
            route,
            pre,
            context_reasons,
            extra_hosts=tuple(extra_hosts),
            scrapy_safe=scrapy_safe,
        )
        canonical = pre.canonical
        if canonical is None:
            return plan
        context_reasons.extend(self._discovery_reasons(pre))
        if vhost is not None and (vhost[0], vhost[1] or canonical.port) != (
            canonical.host,
            canonical.port,
        ):
            plan.vhost = vhost[0]
            vhost_url = (
                f"{canonical.scheme}://{_netloc(vhost[0], vhost[1] or canonical.port)}"
                f"{_path_and_query(canonical)}"
            )
            plan.vhost_pre = self.checker.pre_robots(vhost_url)
        denied = any(r.outcome is Outcome.DENY for r in context_reasons) or pre.denied
        if plan.vhost_pre is not None:
            denied = denied or plan.vhost_pre.denied
        if denied or offline:
            plan.denied_early = denied
            return plan
        if pre.needs_robots:
            plan.needs.append(self._robots_need(canonical, route, None))
        if plan.vhost_pre is not None and plan.vhost_pre.needs_robots:
            plan.needs.append(self._robots_need(canonical, route, route.host_headers[0]))
        for need in plan.needs:
            cached = self.robots_cache.get(need.key)
            if cached is not None:
                plan.results[need.key] = cached
        terms_need = self._terms_need(pre, route)
        if terms_need is not None:
            # First: when the terms changed, robots.txt is not needed at all.
            plan.needs.insert(0, terms_need)
        return plan

    # -- terms of service (issue 8) -------------------------------------------------

    def _discovery_reasons(self, pre: PreCheck) -> list[Reason]:
        """``terms.discovery: deny``: a site without a record whose terms were flagged."""
        canonical = pre.canonical
        if self.terms.discovery != "deny" or canonical is None:
            return []
        if self.checker.sites.records_for(canonical.host):
            return []
        key = site_key(canonical.host, pre.registrable_domain, is_ip=canonical.is_ip)
        return self.terms.discovery_reasons(key)

    def _terms_need(self, pre: PreCheck, route: Route) -> FileNeed | None:
        """The watched terms page this URL's decision relies on, when it is due.

        Only the record whose terms reason is in the decision (the most
        specific one with terms), only when watched (``url`` and ``sha256``,
        a review verdict), and only when never fetched or older than
        ``terms.refetch_interval``.
        """
        canonical = pre.canonical
        if canonical is None:
            return None
        records = self.checker.sites.records_for(canonical.host)
        if not records:  # the common case: no site record, nothing watched
            return None
        rules = {r.rule for r in pre.reasons if r.check is Check.TERMS}
        for record in records:
            terms = record.terms
            if terms is None or record.id not in rules:
                continue
            if not terms.sha256 or terms.verdict is None or not self.terms.due(terms.url):
                return None
            return FileNeed(
                SiteFile.TERMS, terms.url, ("terms", terms.url, route.proxy), TERMS_MAX_BYTES
            )
        return None

    def supply_terms(self, plan: Plan, need: FileNeed, page: TermsPage) -> None:
        """Hand the plan the terms page fetched for *need* (see :meth:`store_terms`).

        The site checks are run again with it; when they now settle the URL (the
        terms changed and the policy denies), robots.txt is no longer needed.
        """
        plan.terms[need.key] = page
        plan.pre = self.checker.pre_robots(
            plan.url,
            extra_hosts=plan.extra_hosts,
            scrapy_safe=plan.scrapy_safe,
            terms_fingerprints={**self.terms.pages(), page.url: page},
        )
        if not plan.pre.needs_robots:
            plan.needs = [n for n in plan.needs if n.kind is not SiteFile.ROBOTS or n.host_header]

    def store_terms(self, need: FileNeed, fetched: FetchedFile) -> TermsPage:
        """Read a fetched terms page, keep it until it is due again, record what it says.

        The record (kind ``own-fetch``, check ``terms``) names the page's
        fingerprint, or why it could not be read, and for each site record
        watching it whether it matches the review.
        """
        return self._keep_terms(terms_from_fetched(fetched, max_bytes=need.max_bytes))

    def terms_unreadable(self, need: FileNeed, why: str) -> TermsPage:
        """A terms fetch that failed inside us: unreachable, kept and recorded like any."""
        return self._keep_terms(terms_from_fetch(need.url, status=None, error=why))

    def _keep_terms(self, page: TermsPage) -> TermsPage:
        self.terms.store(page)
        reasons = []
        for record in self.checker.policy.sites:
            terms = record.terms
            if terms is None or terms.url != page.url or not terms.sha256:
                continue
            if page.status is TermsStatus.UNREACHABLE:
                message = f"terms page of site record {record.id!r} not read: {page.problem}"
            elif page.sha256 == terms.sha256:
                message = f"terms page of site record {record.id!r} matches the review"
            else:
                message = (
                    f"terms page of site record {record.id!r} differs from the review of "
                    f"{terms.reviewed}"
                )
            reasons.append(
                Reason(
                    Check.TERMS,
                    Outcome.INFO,
                    message,
                    rule=record.id,
                    extra=(
                        ("terms_status", page.detail),
                        ("reviewed_sha256", terms.sha256),
                        ("current_sha256", page.sha256),
                    ),
                )
            )
        if not reasons:
            reasons.append(Reason(Check.TERMS, Outcome.INFO, f"terms page read: {page.detail}"))
        self.record(self._own_record(page.url, reasons))
        return page

    def _own_record(self, url: str, reasons: list[Reason]) -> Decision:
        canonical, registrable, _ = self.checker.registry_reasons(url)
        return decide(
            url,
            reasons,
            host=canonical.host if canonical else None,
            registrable_domain=registrable,
            kind=RecordKind.OWN_FETCH,
        )

    def discovery_need(self, found: Discovery) -> FileNeed:
        """The one fetch of a discovered terms page (keyed by the site it speaks for)."""
        return FileNeed(
            SiteFile.TERMS, found.link.url, ("terms-discovered", found.domain), TERMS_MAX_BYTES
        )

    def discovered_terms(self, found: Discovery, fetched: FetchedFile) -> Decision:
        """Record what a discovered terms page says (the evidence, when flagged)."""
        page = terms_from_fetched(fetched, max_bytes=TERMS_MAX_BYTES)
        reasons = self.terms.discovered(found.domain, found.link, page)
        return self.record(self._own_record(found.link.url, reasons))

    def _robots_need(self, canonical: CanonicalURL, route: Route, host: str | None) -> FileNeed:
        # The route matters: robots.txt read through a proxy, or for another
        # virtual host, says nothing of what another route would see.
        key = (*canonical.origin, route.proxy, host.strip().lower() if host else None)
        need = self._needs.get(key)
        if need is None:
            if len(self._needs) >= _NEEDS_MEMO:
                self._needs.clear()
            need = FileNeed(SiteFile.ROBOTS, canonical.robots_url, key, DEFAULT_MAX_BYTES, host)
            self._needs[key] = need
        return need

    def supply(self, plan: Plan, need: FileNeed, result: RobotsResult) -> None:
        """Hand the plan the robots.txt result for *need* (see :meth:`store_robots`)."""
        plan.results[need.key] = result

    def store_robots(self, need: FileNeed, fetched: FetchedFile) -> RobotsResult:
        """Apply the fetch-status rules to a fetched robots.txt and cache the result."""
        return self.robots_cache.put(need.key, robots_result(fetched, on_429=self.on_429))

    def conclude(
        self,
        plan: Plan,
        *,
        kind: RecordKind = RecordKind.PAGE,
        offline: bool = False,
        page: str | None = None,
    ) -> Decision:
        """The full decision for the plan's URL, recorded before it is returned."""
        return self.record(self.decision_of(plan, kind=kind, offline=offline, page=page))

    def decision_of(
        self,
        plan: Plan,
        *,
        kind: RecordKind = RecordKind.PAGE,
        offline: bool = False,
        page: str | None = None,
    ) -> Decision:
        """The decision for a plan whose files are all supplied (not recorded)."""
        pre, robots = self._pre_and_robots(plan)
        reasons, robots_status, robots_fingerprint = self.checker.all_reasons(
            pre, robots, offline=offline, context=plan.context
        )
        if plan.vhost_pre is not None:
            reasons.extend(self._vhost_reasons(plan))
        reasons.extend(self._signal_file_reasons(plan, robots, reasons, offline=offline))
        canonical = pre.canonical
        return decide(
            plan.url,
            reasons,
            host=canonical.host if canonical else None,
            registrable_domain=pre.registrable_domain,
            offline=offline,
            robots_status=robots_status,
            robots_fingerprint=robots_fingerprint,
            kind=kind,
            vhost=plan.vhost,
            proxy=plan.route.proxy,
            page=page,
        )

    # -- opt-out files: tdmrep.json and RSL licences (crawler_compliance.signals) -----

    def signal_needs(self, plan: Plan) -> list[FileNeed]:
        """The tdmrep.json and licences *plan*'s URL still needs, once its robots.txt is in.

        Asked only when everything else allows (only read what is needed). The
        adapter fetches each as an own fetch and hands it to :meth:`supply_signal_file`.
        """
        plan.signal_needs = []
        canonical = plan.pre.canonical
        if canonical is None or plan.denied_early or plan.missing():
            return []
        pre, robots = self._pre_and_robots(plan)
        needs = self.signal_files.all_needs(canonical, robots, proxy=plan.route.proxy)
        if not needs:
            return []  # the common case: nothing to read, nothing more to work out
        plan.signal_needs = needs
        missing = self.signal_files.needs(canonical, robots, proxy=plan.route.proxy, needs=needs)
        if not missing:
            return []  # all cached: the decision reads them
        reasons, _, _ = self.checker.all_reasons(pre, robots, context=plan.context)
        if any(r.outcome is Outcome.DENY for r in reasons):
            return []  # denied anyway: fetch nothing more
        return missing

    def supply_signal_file(self, need: FileNeed, fetched: FetchedFile) -> None:
        """Parse and cache one fetched opt-out file."""
        self.signal_files.supply(need, fetched)

    def _pre_and_robots(self, plan: Plan) -> tuple[PreCheck, RobotsResult | None]:
        """The pre-check and the URL's own robots.txt result a decision is made from."""
        # robots.txt needs only: a terms page need comes first when one is due.
        robots_needs = [need for need in plan.needs if need.kind is SiteFile.ROBOTS]
        main = robots_needs[0] if robots_needs and robots_needs[0].host_header is None else None
        robots = plan.robots_for(main) if main is not None else None
        pre = plan.pre
        if plan.denied_early or (robots_needs and main is None):
            # Settled without the URL's robots.txt: already denied (no fetch was
            # made, so none is missing), or only the vhost's robots.txt was
            # needed (the URL's host is settled by an explicit permission).
            pre = dataclasses.replace(pre, needs_robots=False)
        return pre, robots

    def _signal_file_reasons(
        self, plan: Plan, robots: RobotsResult | None, reasons: list[Reason], *, offline: bool
    ) -> list[Reason]:
        canonical = plan.pre.canonical
        if canonical is None or any(r.outcome is Outcome.DENY for r in reasons):
            return []
        if plan.signal_needs is None:
            if offline or not self.signal_files.all_needs(
                canonical, robots, proxy=plan.route.proxy
            ):
                return []
            return [
                Reason(
                    Check.OPT_OUT,
                    Outcome.INFO,
                    "tdmrep.json and RSL licences not checked: this caller does not fetch them",
                )
            ]
        if not plan.signal_needs:
            return []
        return self.signal_files.reasons(
            canonical, robots, proxy=plan.route.proxy, needs=plan.signal_needs
        )

    def _vhost_reasons(self, plan: Plan) -> list[Reason]:
        """The other virtual host a ``Host`` header names: its site records and robots.txt."""
        assert plan.vhost_pre is not None
        reasons = [
            Reason(
                Check.URL,
                Outcome.INFO,
                f"the Host header names {plan.vhost}: decided on that host too",
            ),
            *plan.vhost_pre.reasons,
        ]
        vhost_canonical = plan.vhost_pre.canonical
        vneed = next((n for n in plan.needs if n.host_header is not None), None)
        if vneed is not None and vhost_canonical is not None:
            vrobots = plan.robots_for(vneed)
            if vrobots is None:
                reasons.append(
                    Reason(
                        Check.ROBOTS,
                        Outcome.DENY,
                        f"no robots.txt verdict for {plan.vhost}: fail closed",
                    )
                )
            else:
                reasons.extend(self.checker.robots_reasons(vhost_canonical, vrobots))
        return reasons

    # -- after the fetch ----------------------------------------------------------

    def decide_response(self, view: ResponseView, *, host: str | None = None) -> Decision | None:
        """What the response says about its own use; ``None`` when nothing does.

        Recorded (kind ``response``) whenever an observer has something to say;
        a deny means the content was fetched and must be discarded. An observer
        that fails denies: a reservation we could not read is not "none".
        """
        reasons: list[Reason] = []
        for observer in self.observers:
            try:
                reasons.extend(observer.observe(view))
            except Exception as exc:
                name = type(observer).__name__
                reasons.append(
                    Reason(
                        Check.INTERNAL,
                        Outcome.DENY,
                        f"response check {name} failed: {type(exc).__name__}: fail closed",
                    )
                )
        if not reasons:
            return None
        if any(r.outcome is Outcome.DENY for r in reasons):
            reasons.append(
                Reason(
                    Check.URL,
                    Outcome.INFO,
                    "the content was fetched and discarded: it never reached the spider",
                )
            )
        return self.record(decide(view.url, reasons, host=host, kind=RecordKind.RESPONSE))

    def crawl_delay(self, plan: Plan) -> float | None:
        """The longest Crawl-delay any robots.txt of the plan sets for us (clamped)."""
        delays = [delay for result in plan.results.values() if (delay := self._delay_of(result))]
        if not delays:
            return None
        return min(max(delays), float(self.checker.policy.config.robots.max_crawl_delay))

    def _delay_of(self, result: RobotsResult) -> float:
        """A robots.txt result's Crawl-delay for us (0 for none), worked out once per result."""
        memo = self._delays
        found = memo.get(result)
        if found is None:
            delay = result.robots.crawl_delay(self.checker.user_agent) if result.robots else None
            found = memo[result] = float(delay or 0)
        return found


def _netloc(host: str, port: int | None) -> str:
    return f"{host}:{port}" if port else host


def _path_and_query(canonical: CanonicalURL) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(canonical.url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class TermsDiscovery:
    """The discovery response observer: terms links and restrictive clauses (issue 8)."""

    def __init__(self, enforcer: Enforcer) -> None:
        self.enforcer = enforcer

    def observe(self, view: ResponseView) -> list[Reason]:
        return observe(view, self.enforcer.checker, self.enforcer.terms)
