"""ComplianceMiddleware: every request decided, and recorded, before download.

A thin adapter over the crawl's :class:`~crawler_compliance._enforcement.Enforcer`:
per request it reads the route (URL, ``Host`` headers, proxy, User-Agent),
asks the enforcer for a plan, fetches the robots.txt files the plan needs
through the engine (once per origin and route, concurrent requests waiting),
and lets the enforcer decide and record. A deny raises :class:`RequestDenied`;
any internal error denies (``internal-error``): the crawl goes on, the
request does not. Crawl-delay is handed to Scrapy's download slots.

After the download, ``process_response`` hands the enforcer's response
observers a bounded view of the response; a binding signal drops it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.settings import SETTINGS_PRIORITIES

from crawler_compliance._decision import (
    Check,
    Decision,
    Outcome,
    Reason,
    RecordKind,
    Verdict,
    decide,
)
from crawler_compliance._enforcement import AuditWriteFailed, Enforcer, Plan
from crawler_compliance._identity import crawl_identity
from crawler_compliance._responses import BODY_HEAD_BYTES, ResponseView, is_htmlish
from crawler_compliance._route import Route, proxy_host
from crawler_compliance._sitefiles import FetchedFile, FetchError, FileNeed, SiteFile
from crawler_compliance.audit import AuditLog, AuditLogError
from crawler_compliance.policy import PolicyError, load_policy
from crawler_compliance.robots import RobotsResult, robots_from_fetch
from crawler_compliance.scrapy._config import (
    DEFAULT_AUDIT_LOG,
    ComplianceConfigError,
    Config,
    audit_log_path,
)
from crawler_compliance.scrapy._exceptions import RequestDenied
from crawler_compliance.scrapy._politeness import SlotPoliteness
from crawler_compliance.scrapy._sitefiles import (
    OWN_FETCH_META,
    STATS_NAMES,
    EngineFileFetcher,
    Inflight,
)
from crawler_compliance.scrapy._stamps import Stamp, Stamps
from crawler_compliance.scrapy._stats import CrawlStats
from crawler_compliance.terms import Discovery, TermsPage

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.policy import Policy

logger = logging.getLogger(__name__)


def route_of(request: Request, meta: dict[str, Any] | None = None) -> Route:
    """Everything besides the URL that names where *request* goes, and who it says it is.

    *meta*: ``request.meta`` when the caller has read it already (one
    property call fewer on the per-request path).
    """
    cls = type(request)
    if (
        cls is Request
        and request._headers is None
        # A plain scrapy.Request whose class reads its headers as Scrapy wrote
        # it, checked on every call (class attributes can be replaced at any
        # time): a subclass, or a patched class, always has request.headers read.
        and cls.headers is _HEADERS_PROPERTY
        and cls.__getattribute__ is _GETATTRIBUTE
        and not hasattr(cls, "__getattr__")
    ):
        # Scrapy creates a request's Headers on first access of request.headers:
        # a plain Request decided before any middleware set one (ours runs
        # early) has none, and reading the property would make an empty one.
        hosts = agents = None
    else:
        hosts, agents = _sent_headers(request.headers)
    proxy = (request.meta if meta is None else meta).get("proxy")
    if not (hosts or agents or proxy):
        return _NO_ROUTE
    # A crawl sends few distinct routes (one User-Agent, a proxy or two): build each once.
    key = (tuple(hosts) if hosts else (), tuple(agents) if agents else (), proxy)
    try:
        route = _ROUTES.get(key)
    except TypeError:  # a proxy setting that is not text: read it every time
        return _read_route(hosts, agents, proxy)
    if route is None:
        if len(_ROUTES) >= _MAX_ROUTES:
            _ROUTES.clear()
        route = _ROUTES[key] = _read_route(hosts, agents, proxy)
    return route


def _sent_headers(headers: Any) -> tuple[list[bytes] | None, list[bytes] | None]:
    """The ``Host`` and ``User-Agent`` values the downloader will send, as it reads them.

    Scrapy's HTTP/1.1 handler copies ``request.headers.items()``, every name
    in whatever case it is stored: each is read here the same way, so no
    spelling, ``Headers`` subclass or plain dict hides one. Scrapy's own
    ``Headers`` holds bytes names and lists of bytes values: its names are
    only compared; anything else is normalised first.
    """
    if type(headers) is Headers:
        # Scrapy's own stores each name as Headers.normkey makes it ("Host"),
        # unless something wrote into the dict directly. Whether a set of
        # names holds another spelling of the two is worked out once per set
        # (a crawl sends the same few names on every request); when none
        # does, the two stored names are all there is to read.
        if not headers:
            return None, None
        if _plain_names(tuple(dict.keys(headers))):
            hosts = dict.get(headers, b"Host")
            agents = dict.get(headers, b"User-Agent")
            return (
                None if hosts is None else _values(hosts),
                None if agents is None else _values(agents),
            )
    hosts = agents = None
    items = dict.items(headers) if type(headers) is Headers else headers.items()
    for name, values in items:
        lower = _as_bytes(name).lower()
        if lower == b"host":
            hosts = [*(hosts or ()), *_values(values)]
        elif lower == b"user-agent":
            agents = [*(agents or ()), *_values(values)]
    return hosts, agents


@functools.lru_cache(maxsize=1024)
def _plain_names(names: tuple[Any, ...]) -> bool:
    """No name but ``Host`` and ``User-Agent`` themselves reads as either."""
    for name in names:
        lower = _as_bytes(name).lower()
        if (lower == b"host" and name != b"Host") or (
            lower == b"user-agent" and name != b"User-Agent"
        ):
            return False
    return True


def _as_bytes(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


def _values(values: Any) -> list[bytes]:
    """A header's values as bytes, element by element as Twisted sends them.

    Scrapy's Headers holds a list of bytes already. Twisted iterates what it
    is given: a bare str is sent one character per header line, so it is
    read so here too (several ``Host`` values: ambiguous, denied).
    """
    if type(values) is list and len(values) == 1 and type(values[0]) is bytes:
        return values  # the usual case, as Scrapy's Headers stores it
    if isinstance(values, (bytes, bytearray)):
        return [bytes(values)]
    return [_as_bytes(v) for v in values]


_HEADERS_PROPERTY = Request.headers
_GETATTRIBUTE = object.__getattribute__


def _read_route(hosts: Any, agents: Any, proxy: Any) -> Route:
    return Route(
        host_headers=tuple(v.decode("latin-1") for v in hosts or ()),
        proxy=proxy_host(proxy) if proxy else None,
        user_agents=tuple(v.decode("latin-1") for v in agents or ()),
    )


_NO_ROUTE = Route()
_ROUTES: dict[tuple[object, ...], Route] = {}
_MAX_ROUTES = 1024


def _priority_name(value: int) -> str:
    for name, number in SETTINGS_PRIORITIES.items():
        if number == value:
            return name
    return str(value)


def _audit_disabled(crawler: Crawler) -> None:
    """Record that a crawl ran with the checks switched off (legal must see it)."""
    settings = crawler.settings
    try:
        path = audit_log_path(settings, getattr(crawler.spider, "name", None))
    except ComplianceConfigError:  # the checks are off: the record still goes somewhere
        path = str(settings.get("COMPLIANCE_AUDIT_LOG") or DEFAULT_AUDIT_LOG)
    where = _priority_name(settings.getpriority("COMPLIANCE_ENABLED") or 0)
    message = (
        f"compliance checks disabled by COMPLIANCE_ENABLED=False (set at {where} priority): "
        "requests of this crawl are not checked"
    )
    logger.warning(message)
    log = AuditLog(path)
    try:
        log.append(
            decide("*", [Reason(Check.POLICY, Outcome.INFO, message)], kind=RecordKind.CONTROL),
            spider=getattr(crawler.spider, "name", None),
        )
    finally:
        log.close()


def build_enforcer(
    crawler: Crawler, config: Config, policy: Policy, *, file_audit: bool = True
) -> Enforcer:
    """The crawl's one enforcer, from its settings and policy (``file_audit=False``:
    the caller supplies the audit store, e.g. the cluster's database)."""
    spider_agent = getattr(crawler.spider, "user_agent", None)
    identity = crawl_identity(
        user_agent_header=spider_agent or config.default_user_agent or None,
        compliance_user_agent=config.user_agent,
        policy_token=policy.config.crawler.product_token,
        header_source="the spider's user_agent attribute" if spider_agent else "USER_AGENT",
    )
    for warning in identity.warnings:
        logger.warning("crawler-compliance: %(warning)s", {"warning": warning})
    try:
        return Enforcer.from_policy(
            policy,
            identity=identity,
            purpose=config.purpose,
            audit_path=config.audit_log if file_audit else None,
            fsync_every=config.audit_fsync_every,
            fsync_interval=config.audit_fsync_interval,
            max_bytes=config.audit_max_bytes,
            redact_key=config.audit_redact_key,
            transparency=config.audit_transparency,
            robots_cache_size=config.robots_cache_size,
            suffix_list_file=config.suffix_list,
            spider=getattr(crawler.spider, "name", None),
            stats=CrawlStats(crawler.stats),
        )
    except ValueError as exc:
        if not config.suffix_list or isinstance(exc, AuditLogError):
            raise
        raise ComplianceConfigError(f"COMPLIANCE_SUFFIX_LIST: {exc}") from exc


class ComplianceMiddleware:
    """Scrapy downloader middleware enforcing crawler-compliance's decisions."""

    def __init__(self, crawler: Crawler, config: Config, policy: Policy) -> None:
        self.crawler = crawler
        self.config = config
        self._cluster = self._cluster_setup(crawler, config, policy)  # issue 12, below
        cluster_audit = self._cluster.audit if self._cluster is not None else None
        self.enforcer = build_enforcer(crawler, config, policy, file_audit=cluster_audit is None)
        if cluster_audit is not None:
            self.enforcer.audit = cluster_audit  # the same interface as AuditLog
        self.checker = self.enforcer.checker
        robots_policy = policy.config.robots
        self.obey_crawl_delay = (
            robots_policy.obey_crawl_delay
            if config.obey_crawl_delay is None
            else config.obey_crawl_delay
        )
        self.fetcher = EngineFileFetcher(crawler, self.enforcer, offsite=self._offsite_drops)
        self.politeness = SlotPoliteness(crawler)
        self._inflight = Inflight()
        self._stamps = Stamps()
        self._logged: set[tuple[str, str]] = set()
        self._discovering: set[Any] = set()  # discovery fetches in flight (strong refs)
        from crawler_compliance.scrapy._handler_middleware import start_handlers

        # Which download handlers may fetch, and the browser hook when one renders.
        self.handler_kinds, self.browser_hook = start_handlers(crawler, self)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        if crawler.settings.getbool("ROBOTSTXT_OBEY"):
            logger.warning(
                "crawler-compliance: ROBOTSTXT_OBEY is on, so Scrapy fetches robots.txt a "
                "second time (unaudited by us, shown apart in the report); crawler-compliance "
                "already decides robots.txt: set ROBOTSTXT_OBEY = False"
            )
        logger.info(
            "crawler-compliance: policy %(dir)s (%(fp)s), %(notices)d notices, "
            "%(sites)d site records, product token %(token)r, purpose %(purpose)s, "
            "audit log %(audit)s",
            {
                "dir": config.policy_dir,
                "fp": policy.fingerprint[:12],
                "notices": len(policy.notices),
                "sites": len(policy.sites),
                "token": self.enforcer.identity.robots_token,
                "purpose": self.checker.purpose,
                "audit": config.audit_log,
            },
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceMiddleware:
        if not crawler.settings.getbool("COMPLIANCE_ENABLED", True):
            _audit_disabled(crawler)
            raise NotConfigured("COMPLIANCE_ENABLED is False")
        try:
            config = Config.from_settings(
                crawler.settings, spider=getattr(crawler.spider, "name", None)
            )
            policy = load_policy(config.policy_dir)
            return cls(crawler, config, policy)
        except PolicyError as exc:
            logger.error(
                "crawler-compliance: the policy does not load, the crawl will "
                "not start:\n%(errors)s",
                {"errors": exc},
            )
            raise
        except (ComplianceConfigError, AuditLogError, OSError) as exc:
            logger.error("crawler-compliance: %(error)s; the crawl will not start", {"error": exc})
            raise

    # -- the per-request path -------------------------------------------------

    def process_request(
        self, request: Request, spider: Any = None
    ) -> Coroutine[Any, Any, None] | None:
        """Decide *request*; a deny raises :class:`RequestDenied`.

        A page whose every input is cached is decided (and recorded) here and
        now; anything that may have to wait (a file to fetch, our own fetch,
        the cluster) returns the coroutine that does it, which Scrapy awaits.
        """
        meta = request.meta
        route = route_of(request, meta)
        url = request.url  # decided and stamped: the same string
        if (
            meta.get(OWN_FETCH_META) is None
            and self._cluster is None
            and not meta.get("redirect_urls")
            and not meta.get("verbatim_url")
        ):
            # The enforcer's decision from cached inputs (None: take the full path).
            try:
                settled = self.enforcer.settled_page(url, route)
            except AuditWriteFailed as exc:
                self._audit_failed(exc)
                raise RequestDenied(exc.decision) from exc
            except Exception as exc:
                self._deny(request, self._internal_error(url, exc, RecordKind.PAGE))
                raise  # not reached: _deny raises
            if settled is not None:
                decision = settled.decision
                if decision.verdict is not Verdict.ALLOW:  # (not decision.allowed)
                    self._deny(request, decision)
                slot = None
                if settled.crawl_delay and self.obey_crawl_delay:
                    slot = self.politeness.apply(request, settled.origin, settled.crawl_delay)
                self._stamps.put(request, url, route, slot)
                return None
        return self._process_request(request, route)

    async def _process_request(self, request: Request, route: Route) -> None:
        own = self.enforcer.own_fetch_of(request.meta.get(OWN_FETCH_META), request.url)
        if own is not None:
            # Our own fetch (first try, redirect hop, retry, or a request another
            # middleware put in its place): registry-checked and audited each
            # time it comes by, before it can be sent.
            name = STATS_NAMES[own.kind]
            self.crawler.stats.inc_value(f"compliance/{name}/fetch_count")
            decision = self._recorded(
                lambda: self.enforcer.decide_own_fetch(
                    request.url, own, route, scrapy_safe=not request.meta.get("verbatim_url")
                ),
                request.url,
            )
            if not decision.allowed:
                self.crawler.stats.inc_value(f"compliance/{name}/fetch_denied")
                raise RequestDenied(decision)
            if self._cluster is not None:
                await self._cluster_committed(decision)
            self._stamps.put(request, request.url, route, request.meta.get("download_slot"))
            return None
        try:
            decision, plan = await self._decide(request, route)
        except AuditWriteFailed as exc:
            self._audit_failed(exc)
            raise RequestDenied(exc.decision) from exc
        if not decision.allowed:
            self._deny(request, decision)
        if self._cluster is not None:
            await self._cluster_committed(decision)
        slot = None
        if plan is not None and self.obey_crawl_delay and plan.pre.canonical is not None:
            delay = self.enforcer.crawl_delay(plan)
            if delay and self._cluster is not None and self._cluster.state is not None:
                await self._cluster_crawl_delay(decision, plan.pre.canonical.origin, delay)
            elif delay:
                slot = self.politeness.apply(request, plan.pre.canonical.origin, delay)
        self._stamps.put(request, request.url, route, slot)
        return None

    def _recorded(self, make: Any, url: str, kind: RecordKind = RecordKind.PAGE) -> Decision:
        """Run a decide-and-record step; a failure to decide or record denies."""
        try:
            decision: Decision = make()
            return decision
        except AuditWriteFailed as exc:
            self._audit_failed(exc)
            return exc.decision
        except Exception as exc:
            return self._internal_error(url, exc, kind)

    def _internal_error(self, url: str, exc: BaseException, kind: RecordKind) -> Decision:
        logger.error(
            "crawler-compliance: internal error deciding %(url)s",
            {"url": self.enforcer.redact(url)},
            exc_info=True,
            extra={"spider": self.crawler.spider},
        )
        decision = self.enforcer.internal_error(url, exc, kind=kind)
        try:
            return self.enforcer.record(decision)
        except AuditWriteFailed as failed:
            self._audit_failed(failed)
            return failed.decision

    async def _decide(
        self,
        request: Request,
        route: Route,
        *,
        kind: RecordKind = RecordKind.PAGE,
        page: Request | None = None,
        context: list[Reason] | None = None,
    ) -> tuple[Decision, Plan | None]:
        if self._cluster is not None and self._cluster.gate is not None:
            stale = await self._cluster.gate.check()
            if stale is not None:
                self.crawler.stats.inc_value("compliance/cluster/policy_unconfirmed")
                return self.enforcer.record(decide(request.url, [stale], kind=kind)), None
        try:
            reasons = list(context or ())
            reasons.extend(
                Reason(Check.URL, Outcome.INFO, f"redirected from {self.enforcer.redact(source)}")
                for source in request.meta.get("redirect_urls", ())[-1:]
            )
            plan = self.enforcer.plan(
                request.url,
                route,
                # verbatim_url skips Scrapy's safe_url_string: canonicalise it ourselves.
                scrapy_safe=not request.meta.get("verbatim_url"),
                context=reasons,
            )
            # Re-read after each file: a changed terms page makes robots.txt unneeded.
            while missing := plan.missing():
                need = missing[0]
                if need.kind is SiteFile.TERMS:
                    terms = await self._terms(need, request)
                    self.enforcer.supply_terms(plan, need, terms)
                    continue
                result = await self._robots(need, request)
                self.enforcer.supply(plan, need, result)
            for need in self.enforcer.signal_needs(plan):
                await self._signal_file(need, page or request)
            return (
                self.enforcer.conclude(plan, kind=kind, page=page.url if page else None),
                plan,
            )
        except AuditWriteFailed:
            raise
        except Exception as exc:
            return self._internal_error(request.url, exc, kind), None

    async def _robots(self, need: FileNeed, page: Request) -> RobotsResult:
        stats = self.crawler.stats
        assert stats is not None

        async def produce() -> RobotsResult:
            if self._cluster is not None and self._cluster.state is not None:
                result: RobotsResult = await self._cluster.robots(
                    need, lambda: self.fetcher.fetch(need, page), self.enforcer
                )
            else:
                fetched = await self.fetcher.fetch(need, page)
                result = self.enforcer.store_robots(need, fetched)
            stats.set_value("compliance/robots/cached_origins", len(self.enforcer.robots_cache))
            return result

        def on_failure(exc: BaseException) -> RobotsResult:
            logger.error(
                "crawler-compliance: robots.txt fetch for %(url)s failed",
                {"url": self.enforcer.redact(need.url)},
                exc_info=exc,
                extra={"spider": self.crawler.spider},
            )
            # Whatever happened, nobody is left waiting: a disallow-all stands.
            return robots_from_fetch(status=None, error=f"internal error: {type(exc).__name__}")

        return await self._inflight.run(
            need.key,
            produce,
            on_failure,
            on_wait=lambda: stats.inc_value("compliance/robots/waited"),
        )

    async def _terms(self, need: FileNeed, page: Request) -> TermsPage:
        """A watched terms page: fetched like robots.txt, one fetch per page at a time."""
        stats = self.crawler.stats
        assert stats is not None

        async def produce() -> TermsPage:
            fetched = await self.fetcher.fetch(need, page)
            return self.enforcer.store_terms(need, fetched)

        def on_failure(exc: BaseException) -> TermsPage:
            logger.error(
                "crawler-compliance: terms page fetch %(url)s failed",
                {"url": self.enforcer.redact(need.url)},
                exc_info=exc,
                extra={"spider": self.crawler.spider},
            )
            # Nobody is left waiting: an unreachable page, decided by terms.on_unreachable.
            try:
                return self.enforcer.terms_unreadable(need, f"internal error: {type(exc).__name__}")
            except AuditWriteFailed:
                from crawler_compliance.terms import terms_from_fetch

                return terms_from_fetch(need.url, status=None, error="internal-error")

        return await self._inflight.run(
            need.key,
            produce,
            on_failure,
            on_wait=lambda: stats.inc_value("compliance/terms/waited"),
        )

    def _discover(self, found: Discovery, page: Request) -> None:
        """Fetch a discovered terms page once, in the background (the page goes on)."""
        from scrapy.utils.defer import deferred_from_coro

        async def run() -> None:
            need = self.enforcer.discovery_need(found)
            try:
                fetched = await self.fetcher.fetch(need, page)
                self.enforcer.discovered_terms(found, fetched)
                self.crawler.stats.inc_value("compliance/terms/discovered")
            except AuditWriteFailed as exc:
                self._audit_failed(exc)
            except Exception:
                logger.error(
                    "crawler-compliance: discovered terms page %(url)s could not be read",
                    {"url": self.enforcer.redact(found.link.url)},
                    exc_info=True,
                    extra={"spider": self.crawler.spider},
                )

        deferred = deferred_from_coro(run())
        self._discovering.add(deferred)
        deferred.addBoth(self._discovery_done, deferred)

    def _discovery_done(self, result: Any, deferred: Any) -> None:
        self._discovering.discard(deferred)
        return None

    async def _signal_file(self, need: FileNeed, page: Request) -> None:
        """Fetch one tdmrep.json or licence (once per key in flight) into the enforcer's cache.

        A fetch that fails in any way is still supplied, as a failure: the file is
        then unreadable, which fails closed for the purposes it could bind.
        """

        async def produce() -> FetchedFile:
            fetched = await self.fetcher.fetch(need, page)
            self.enforcer.supply_signal_file(need, fetched)
            return fetched

        def on_failure(exc: BaseException) -> FetchedFile:
            logger.error(
                "crawler-compliance: %(file)s fetch for %(url)s failed",
                {"file": need.kind.value, "url": self.enforcer.redact(need.url)},
                exc_info=exc,
                extra={"spider": self.crawler.spider},
            )
            failed = FetchedFile(need.url, None, error=FetchError.INTERNAL)
            self.enforcer.supply_signal_file(need, failed)
            return failed

        await self._inflight.run(need.key, produce, on_failure)

    def _audit_failed(self, exc: AuditWriteFailed) -> None:
        logger.error(
            "crawler-compliance: cannot write the audit log %(path)s: %(error)s",
            {"path": self.config.audit_log, "error": exc.error},
            extra={"spider": self.crawler.spider},
        )

    def _deny(self, request: Request, decision: Decision) -> None:
        check = decision.deciding_check or Check.INTERNAL
        key = (decision.host or "", check.value)
        level = logging.DEBUG if key in self._logged else logging.INFO
        if len(self._logged) >= self.config.robots_cache_size:
            self._logged.clear()  # bounded memory on long crawls: some hosts log again
        self._logged.add(key)
        logger.log(
            level,
            "Denied by crawler-compliance (%(check)s): %(url)s: %(reason)s",
            {
                "check": check.value,
                "url": self.enforcer.redact(request.url),
                "reason": decision.summary(),
            },
            extra={"spider": self.crawler.spider},
        )
        raise RequestDenied(decision)

    # -- what the guard asks ----------------------------------------------------

    def stamp_of(self, request: Request) -> Stamp | None:
        return self._stamps.get(request)

    def recheck(self, request: Request) -> Coroutine[Any, Any, None] | None:
        """The guard's check just before download: deny what changed since the decision.

        The URL must be the one decided. ``User-Agent`` (usually set by
        Scrapy's UserAgentMiddleware after the decision) must be the crawl's.
        A changed ``Host`` header or proxy is decided again in full, as a new
        request would be. A moved download slot is pinned back. When nothing
        changed (the common case) this returns ``None`` at once; otherwise the
        coroutine that denies, re-pins or decides again.
        """
        stamp = self._stamps.get(request)
        meta = request.meta
        route = route_of(request, meta)
        if (
            stamp is not None
            and stamp.url == request.url
            and route.host_headers == stamp.route.host_headers
            and route.proxy == stamp.route.proxy
            and (stamp.slot is None or meta.get("download_slot") == stamp.slot)
            and not self.enforcer.identity_reasons(route)
        ):
            return None
        return self._recheck(request, stamp, route)

    async def _recheck(self, request: Request, stamp: Stamp | None, route: Route) -> None:
        reasons: list[Reason] = []
        if stamp is None or stamp.url != request.url:
            what = "was never decided" if stamp is None else "changed after it was decided"
            reasons.append(Reason(Check.URL, Outcome.DENY, f"the request URL {what}"))
        reasons.extend(self.enforcer.identity_reasons(route))
        own = self.enforcer.own_fetch_of(request.meta.get(OWN_FETCH_META), request.url)
        if not reasons and stamp is not None:
            changed = (route.host_headers, route.proxy) != (
                stamp.route.host_headers,
                stamp.route.proxy,
            )
            if changed and own is not None:
                decision = self._recorded(
                    lambda: self.enforcer.decide_own_fetch(request.url, own, route),
                    request.url,
                    RecordKind.GUARD,
                )
                if not decision.allowed:
                    self._deny(request, decision)
            elif changed:
                context = [
                    Reason(
                        Check.URL, Outcome.INFO, "route changed after the decision: decided again"
                    )
                ]
                try:
                    decision, _ = await self._decide(
                        request, route, kind=RecordKind.GUARD, context=context
                    )
                except AuditWriteFailed as exc:
                    self._audit_failed(exc)
                    raise RequestDenied(exc.decision) from exc
                if not decision.allowed:
                    self._deny(request, decision)
            if stamp.slot is not None and request.meta.get("download_slot") != stamp.slot:
                self.politeness.repin(request, stamp.slot)
        if not reasons:
            return None
        reasons.append(Reason(Check.URL, Outcome.INFO, "denied by the guard just before download"))
        decision = self._recorded(
            lambda: self.enforcer.record(decide(request.url, reasons, kind=RecordKind.GUARD)),
            request.url,
            RecordKind.GUARD,
        )
        self._deny(request, decision)

    # -- after the download -------------------------------------------------------

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        if not self.enforcer.observers:
            return response
        if self.enforcer.own_fetch_of(request.meta.get(OWN_FETCH_META), request.url):
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        body = response.body
        view = ResponseView(
            url=response.url,
            status=response.status,
            headers={
                key.decode("latin-1").lower(): tuple(v.decode("latin-1") for v in values)
                for key, values in response.headers.items()
            },
            content_type=content_type,
            body_head=body[:BODY_HEAD_BYTES] if is_htmlish(content_type) else b"",
            body_size=len(body),
        )
        host = urlsplit(response.url).hostname
        decision = self._recorded(
            lambda: self.enforcer.decide_response(view, host=host),
            response.url,
            RecordKind.RESPONSE,
        )
        found = self.enforcer.terms.next_fetch()
        while found is not None:
            self._discover(found, request)
            found = self.enforcer.terms.next_fetch()
        if decision is not None and not decision.allowed:
            self._deny(request, decision)
        return response

    # -- requests made outside the downloader (rendering download handlers) ---------

    async def decide_url(
        self,
        url: str,
        *,
        page: Request,
        kind: RecordKind | str = RecordKind.SUBRESOURCE,
        resource_type: str | None = None,
        headers: Any = None,
        redirected_from: str | None = None,
    ) -> Decision:
        """Decide and record a URL another client (a browser) is about to fetch for *page*.

        The full page path: registry, site records, the target origin's
        robots.txt (fetched through the engine the way *page* travels, once
        per origin), identity. *headers* are the headers it will be sent with
        (default: none of the page's); the page's proxy and bind address are
        kept. The record names the *kind* and the *page*. Never raises:
        failures deny.
        """
        kind = RecordKind(kind)
        what = f"{resource_type} " if resource_type else ""
        context = [
            Reason(
                Check.URL,
                Outcome.INFO,
                f"{what}requested by the browser for {self.enforcer.redact(page.url)}",
                extra=(("resource_type", resource_type),) if resource_type else (),
            )
        ]
        meta: dict[str, Any] = {
            key: page.meta[key]
            for key in ("proxy", "bindaddress", "download_timeout")
            if key in page.meta
        }
        # Not the page's download slot: the page holds it while it renders, and
        # a robots.txt fetch queued behind it would wait for ever.
        meta["download_slot"] = f"compliance-subresource:{urlsplit(url).hostname}"
        if redirected_from is not None:
            meta["redirect_urls"] = [redirected_from]
        try:
            request = Request(url, headers=headers, meta=meta, dont_filter=True)
        except Exception as exc:
            return self._internal_error(url, exc, kind)
        try:
            decision, _ = await self._decide(
                request, route_of(request), kind=kind, page=page, context=context
            )
        except AuditWriteFailed as exc:
            self._audit_failed(exc)
            return exc.decision
        return decision

    def record(self, decision: Decision) -> Decision:
        """Record a decision another crawl component took; a failed write denies."""
        try:
            return self.enforcer.record(decision)
        except AuditWriteFailed as exc:
            self._audit_failed(exc)
            return exc.decision

    def deny(self, request: Request, decision: Decision) -> None:
        """Log a recorded deny (once per host and check at INFO) and raise RequestDenied."""
        self._deny(request, decision)

    # -- closing ------------------------------------------------------------------

    def _offsite_drops(self, url: str) -> bool:
        """Would Scrapy's offsite filtering drop a request to *url*?"""
        spider = self.crawler.spider
        domains = getattr(spider, "allowed_domains", None)
        if not domains:
            return False
        from scrapy.utils.url import url_is_from_any_domain

        return not url_is_from_any_domain(url, [d for d in domains if d])

    def spider_closed(self, spider: Any, reason: str) -> Any:
        audit = self.enforcer.audit
        assert audit is not None
        audit.close()
        checkpoint = audit.checkpoint
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("compliance/audit/records", self.enforcer.records_written)
        stats.set_value("compliance/audit/last_seq", checkpoint.seq)
        stats.set_value("compliance/audit/last_hash", checkpoint.hash)
        note = audit.last_checkpoint_note or ""
        stats.set_value("compliance/audit/checkpoint", note)
        cosigned, failed = audit.witness_stats
        if self.config.audit_transparency.witnesses:
            stats.set_value("compliance/audit/witness/cosigned", cosigned)
            stats.set_value("compliance/audit/witness/errors", failed)
        if self.config.audit_transparency.tsa is not None:
            stamped, failed = audit.timestamp_stats
            stats.set_value("compliance/audit/timestamp/tokens", stamped)
            stats.set_value("compliance/audit/timestamp/errors", failed)
        logger.info(
            "crawler-compliance: audit log %(path)s checkpoint %(checkpoint)s; "
            "tree checkpoint (keep it to prove the log later):\n%(note)s",
            {"path": self.config.audit_log, "checkpoint": str(checkpoint), "note": note},
            extra={"spider": spider},
        )
        allowed = int(stats.get_value("compliance/allowed", 0))
        denied = int(stats.get_value("compliance/denied", 0))
        by_check = ", ".join(
            f"{check.value} {count}"
            for check in Check
            if (count := int(stats.get_value(f"compliance/{check.value}/denied", 0)))
        )
        summary = {
            "allowed": allowed,
            "denied": denied,
            "by_check": f" ({by_check})" if by_check else "",
            "checkpoint": str(checkpoint),
        }
        if denied and not allowed:
            logger.warning(
                "crawler-compliance: every page request of this crawl was denied: "
                "%(denied)d denied%(by_check)s, 0 allowed; audit checkpoint %(checkpoint)s",
                summary,
                extra={"spider": spider},
            )
        else:
            logger.info(
                "crawler-compliance: %(allowed)d allowed, %(denied)d denied%(by_check)s; "
                "audit checkpoint %(checkpoint)s",
                summary,
                extra={"spider": spider},
            )
        if self._cluster is not None:
            return self._cluster.close()  # a coroutine: Scrapy awaits it
        return None

    # -- cluster: COMPLIANCE_REDIS_URL / COMPLIANCE_AUDIT_DSN (issue 12) ----------------
    # The pieces live in crawler_compliance.cluster; these methods only plug them in.

    def _cluster_setup(self, crawler: Crawler, config: Config, policy: Policy) -> Any:
        from crawler_compliance._policy_audit import redact_params
        from crawler_compliance.cluster._config import ClusterConfig, ClusterConfigError

        if not ClusterConfig.from_settings(crawler.settings).enabled:
            return None
        from crawler_compliance.cluster._scrapy import ClusterPlug

        try:
            plug = ClusterPlug.from_settings(
                crawler.settings,
                stats=crawler.stats,
                redact_params=redact_params(policy),
                redact_key=config.audit_redact_key,
                transparency=config.audit_transparency,
            )
        except ClusterConfigError as exc:
            raise ComplianceConfigError(str(exc)) from None
        if plug is None:
            return None
        plug.robots_max_ttl = float(policy.config.robots.cache_ttl)
        plug.use_gate(lambda: self.checker.policy_fingerprint, self._cluster_reload)
        logger.info("crawler-compliance: cluster mode: %(what)s", {"what": plug.describe()})
        return plug

    async def _cluster_committed(self, decision: Decision) -> None:
        """An allowed request waits for its record's commit; no commit in time, no fetch."""
        from crawler_compliance.cluster._redis_state import ClusterUnavailable

        try:
            await self._cluster.committed()
        except ClusterUnavailable as exc:
            self._cluster_unavailable(decision, exc)

    async def _cluster_crawl_delay(
        self, decision: Decision, origin: tuple[Any, ...], delay: float
    ) -> None:
        from crawler_compliance.cluster._redis_state import ClusterUnavailable

        try:
            await self._cluster.crawl_delay(origin, delay)
        except ClusterUnavailable as exc:
            self._cluster_unavailable(decision, exc)

    def _cluster_unavailable(self, decision: Decision, exc: Exception) -> None:
        """Deny (and record, best effort) a request the cluster cannot vouch for."""
        self.crawler.stats.inc_value("compliance/cluster/unavailable")
        denial = decide(
            decision.url,
            [Reason(Check.INTERNAL, Outcome.DENY, str(exc))],
            host=decision.host,
            kind=decision.kind,
        )
        logger.warning(
            "crawler-compliance: %(url)s denied: %(error)s",
            {"url": self.enforcer.redact(decision.url), "error": exc},
            extra={"spider": self.crawler.spider},
        )
        try:
            denial = self.enforcer.record(denial)  # queued after the allow it overrides
        except AuditWriteFailed as failed:
            denial = failed.decision
        raise RequestDenied(denial)

    async def _cluster_reload(self, wanted: str) -> None:
        """The cluster publishes another policy: load ours again and switch if it matches."""
        import asyncio

        from crawler_compliance._checker import ComplianceChecker

        try:
            policy = await asyncio.to_thread(load_policy, self.config.policy_dir)
        except PolicyError as exc:
            logger.error("crawler-compliance: policy reload failed:\n%(e)s", {"e": exc})
            return
        if policy.fingerprint != wanted:
            logger.warning(
                "crawler-compliance: the cluster runs policy %(want)s but %(dir)s holds "
                "%(have)s: requests are denied until they agree",
                {"want": wanted[:12], "dir": self.config.policy_dir, "have": policy.fingerprint},
            )
            return
        self.enforcer.checker = ComplianceChecker(
            policy,
            user_agent=self.enforcer.identity.robots_token,
            purpose=self.config.purpose,
            suffix_list_file=self.config.suffix_list,
        )
        self.checker = self.enforcer.checker
        self.crawler.stats.inc_value("compliance/cluster/policy_reloaded")
        logger.info("crawler-compliance: now deciding with policy %(fp)s", {"fp": wanted[:12]})
