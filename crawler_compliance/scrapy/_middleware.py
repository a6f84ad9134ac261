"""ComplianceMiddleware: every request decided, and recorded, before download.

Per request: canonical host and registry, site records and terms, then
robots.txt for the request's origin (fetched through the engine, once per
origin, cached with the engine's TTL rules). The decision is appended to the
audit log and flushed to the OS before the request goes on; a deny raises
:class:`RequestDenied`. Any internal error denies (``internal-error``): the
crawl goes on, the request does not.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._decision import Check, Decision, Outcome, Reason, decide
from crawler_compliance._policy_audit import open_audit_log
from crawler_compliance.audit import AuditLog, AuditLogError
from crawler_compliance.policy import PolicyError, load_policy
from crawler_compliance.robots import (
    RobotsCache,
    RobotsResult,
    product_token,
    robots_from_fetch,
)
from crawler_compliance.scrapy._config import DEFAULT_AUDIT_LOG, ComplianceConfigError, Config
from crawler_compliance.scrapy._exceptions import RequestDenied
from crawler_compliance.scrapy._robots_fetch import ROBOTS_MAX_DOWNLOAD, EngineRobotsFetcher

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# The guard middleware finds the crawl's ComplianceMiddleware here.
_INSTANCES: weakref.WeakKeyDictionary[Any, ComplianceMiddleware] = weakref.WeakKeyDictionary()


_FLUSH_EVERY = 256


@functools.lru_cache(maxsize=256)
def _proxy_netloc(proxy: str) -> str:
    """``http://user:pw@proxy:3128`` -> ``proxy:3128`` (credentials never leave here)."""
    if "://" not in proxy:
        proxy = "http://" + proxy
    return urlsplit(proxy).netloc.rpartition("@")[2]


def _priority_name(value: int) -> str:
    for name, number in SETTINGS_PRIORITIES.items():
        if number == value:
            return name
    return str(value)


def _audit_disabled(crawler: Crawler) -> None:
    """Record that a crawl ran with the checks switched off (legal must see it)."""
    settings = crawler.settings
    path = settings.get("COMPLIANCE_AUDIT_LOG") or DEFAULT_AUDIT_LOG
    where = _priority_name(settings.getpriority("COMPLIANCE_ENABLED") or 0)
    message = (
        f"compliance checks disabled by COMPLIANCE_ENABLED=False (set at {where} priority): "
        "requests of this crawl are not checked"
    )
    logger.warning(message)
    log = AuditLog(path)
    try:
        log.append(
            decide("*", [Reason(Check.POLICY, Outcome.INFO, message)]),
            spider=getattr(crawler.spider, "name", None),
        )
    finally:
        log.close()


def _identity(config: Config, policy: Any, spider_agent: str | None) -> tuple[str, str, str]:
    """(User-Agent header the crawl sends, its product token, token robots.txt is matched for).

    The header is the spider's ``user_agent`` attribute, else ``USER_AGENT``
    (what Scrapy's UserAgentMiddleware sends). robots.txt is matched for
    ``COMPLIANCE_USER_AGENT`` when set (like Scrapy's ROBOTSTXT_USER_AGENT),
    else for the header's token. Disagreements with the header or with the
    policy's ``crawler.product_token`` are warned about, naming both.
    """
    header = spider_agent or config.default_user_agent
    header_source = "the spider's user_agent attribute" if spider_agent else "USER_AGENT"
    sent = product_token(header) if header else ""
    token = product_token(config.user_agent) if config.user_agent else sent
    if config.user_agent and sent and token.lower() != sent.lower():
        logger.warning(
            "crawler-compliance: COMPLIANCE_USER_AGENT matches robots.txt for %(token)r, but "
            "%(source)s sends the token %(sent)r: sites see %(sent)r",
            {"token": token, "source": header_source, "sent": sent},
        )
    declared = policy.config.crawler.product_token
    if token.lower() != declared.lower():
        logger.warning(
            "crawler-compliance: robots.txt is matched for %(token)r (from %(source)s), but "
            "the policy's crawler.product_token is %(declared)r. Make them agree (e.g. "
            "USER_AGENT = '%(declared)s/1.0 (+https://your.site/bot)').",
            {
                "token": token,
                "declared": declared,
                "source": "COMPLIANCE_USER_AGENT" if config.user_agent else header_source,
            },
        )
    return header or token, sent or token, token


class ComplianceMiddleware:
    """Scrapy downloader middleware enforcing crawler-compliance's decisions."""

    def __init__(self, crawler: Crawler, config: Config, policy: Any) -> None:
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        robots_policy = policy.config.robots
        header, sent_token, token = _identity(
            config, policy, getattr(crawler.spider, "user_agent", None)
        )
        try:
            self.checker = ComplianceChecker(
                policy,
                user_agent=token,
                purpose=config.purpose,
                suffix_list_file=config.suffix_list,
            )
        except ValueError as exc:
            if not config.suffix_list:
                raise
            raise ComplianceConfigError(f"COMPLIANCE_SUFFIX_LIST: {exc}") from exc
        self._cluster = self._cluster_setup(crawler, config, policy)  # issue 12, below
        self.audit = (
            self._cluster.audit
            if self._cluster is not None and self._cluster.audit is not None
            else open_audit_log(
                policy,
                config.audit_log,
                fsync_every=config.audit_fsync_every,
                fsync_interval=config.audit_fsync_interval,
                max_bytes=config.audit_max_bytes,
                redact_key=config.audit_redact_key,
            )
        )
        self.robots_cache = RobotsCache(
            max_origins=config.robots_cache_size,
            max_stale=robots_policy.max_stale,
            max_ttl=robots_policy.cache_ttl,
        )
        self.obey_crawl_delay = (
            robots_policy.obey_crawl_delay
            if config.obey_crawl_delay is None
            else config.obey_crawl_delay
        )
        self.max_crawl_delay = float(robots_policy.max_crawl_delay)
        self._own_marker = object()  # unforgeable: a spider cannot set it in meta
        self._inflight: dict[Any, list[Deferred[RobotsResult]]] = {}
        self._next_slot: OrderedDict[Any, float] = OrderedDict()
        self._logged: set[tuple[str, str]] = set()
        self._records_written = 0
        self._sent_token = sent_token
        self._sent_token_lower = sent_token.lower()
        self._pending: dict[str, int] = {}
        self._pending_total = 0
        self._fetcher = EngineRobotsFetcher(
            crawler,
            own_marker=self._own_marker,
            user_agent=header,
            on_429=robots_policy.on_429,
            offsite=self._offsite_drops,
            # Bounds what a gzip bomb served as robots.txt can inflate to.
            max_download=min(
                crawler.settings.getint("DOWNLOAD_MAXSIZE") or ROBOTS_MAX_DOWNLOAD,
                ROBOTS_MAX_DOWNLOAD,
            ),
        )
        _INSTANCES[crawler] = self
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        logger.info(
            "crawler-compliance: policy %(dir)s (%(fp)s), %(notices)d notices, "
            "%(sites)d site records, product token %(token)r, purpose %(purpose)s, "
            "audit log %(audit)s",
            {
                "dir": config.policy_dir,
                "fp": policy.fingerprint[:12],
                "notices": len(policy.notices),
                "sites": len(policy.sites),
                "token": token,
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
            config = Config.from_settings(crawler.settings)
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

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("_compliance_own") is self._own_marker:
            # Our robots.txt fetch (first try, redirect hop, retry, or a request
            # another middleware put in its place): registry-checked and
            # audited each time it comes by, before it can be sent.
            self.stats.inc_value("compliance/robots/fetch_count")
            decision = self.checker.decide_own_fetch(
                request.url, scrapy_safe=not request.meta.get("verbatim_url")
            )
            record = self._record(decision)
            if not decision.allowed:
                self.stats.inc_value("compliance/robots/fetch_denied")
                raise RequestDenied(decision)
            if self._cluster is not None:
                await self._cluster_committed(decision, record)
            self._mark_decided(request)
            return None
        try:
            decision, robots, slot = await self._decide(request)
        except Exception as exc:
            logger.error(
                "crawler-compliance: internal error deciding %(request)s",
                {"request": request},
                exc_info=True,
                extra={"spider": self.crawler.spider},
            )
            decision, robots, slot = self.checker.internal_error(request.url, exc), None, None
        record = self._record(decision)
        if not decision.allowed:
            self._deny(request, decision)
        if self._cluster is not None:
            await self._cluster_committed(decision, record)
        self._count("compliance/allowed")
        self._mark_decided(request)
        if robots is not None and slot is not None and self.obey_crawl_delay:
            await self._honour_crawl_delay(slot, robots)
        return None

    def _mark_decided(self, request: Request) -> None:
        """Remember, unforgeably, which URL and route were decided (the guard compares)."""
        request.meta["_compliance_decided"] = (
            self._own_marker,
            request.url,
            tuple(self.route_hosts(request)),
        )

    def route_hosts(self, request: Request) -> list[str]:
        """Other hosts this request names: its ``Host`` header and its proxy."""
        hosts = []
        host_header = request.headers.get(b"Host") if request.headers else None
        if host_header:
            hosts.append(host_header.decode("latin-1"))
        proxy = request.meta.get("proxy")
        if proxy:
            hosts.append(_proxy_netloc(proxy))
        return hosts

    async def _decide(
        self, request: Request
    ) -> tuple[Decision, RobotsResult | None, tuple[Any, ...] | None]:
        if self._cluster is not None and self._cluster.gate is not None:
            stale = await self._cluster.gate.check()
            if stale is not None:
                self.stats.inc_value("compliance/cluster/policy_unconfirmed")
                return decide(request.url, [stale]), None, None
        pre = self.checker.pre_robots(
            request.url,
            extra_hosts=self.route_hosts(request),
            # verbatim_url skips Scrapy's safe_url_string: canonicalise it ourselves.
            scrapy_safe=not request.meta.get("verbatim_url"),
        )
        robots = origin = None
        context = [
            Reason(Check.URL, Outcome.INFO, f"redirected from {source}")
            for source in request.meta.get("redirect_urls", ())[-1:]
        ]
        if pre.needs_robots and pre.canonical is not None:
            origin = pre.canonical.origin
            # The route matters: robots.txt read through a proxy says nothing
            # of what a direct connection would see, and vice versa.
            proxy = request.meta.get("proxy")
            key = (*origin, _proxy_netloc(proxy) if proxy else None)
            robots = await self._robots_for(request, pre.canonical, key)
            context.extend(self._user_agent_mismatch(request))
        decision = self.checker.decide(request.url, robots, pre=pre, context=context)
        return decision, robots, origin

    def _user_agent_mismatch(self, request: Request) -> list[Reason]:
        """A request identifying as another crawler than ours: robots.txt was not asked for it."""
        header = request.headers.get(b"User-Agent") if request.headers else None
        if not header:
            return []
        token = product_token(header.decode("latin-1"))
        if token.lower() == self._sent_token_lower:
            return []
        return [
            Reason(
                Check.ROBOTS,
                Outcome.DENY,
                f"the request sends User-Agent {token!r}, not the crawl's {self._sent_token!r} "
                "for which robots.txt was decided",
            )
        ]

    def _record(self, decision: Decision) -> Any:
        """Append to the audit log before anything is fetched; no record, no fetch."""
        try:
            record = self.audit.append(
                decision,
                spider=getattr(self.crawler.spider, "name", None),
                purpose=self.checker.purpose,
                policy_fingerprint=self.checker.policy_fingerprint,
            )
        except Exception as exc:
            logger.error(
                "crawler-compliance: cannot write the audit log %(path)s: %(error)s",
                {"path": self.config.audit_log, "error": exc},
                extra={"spider": self.crawler.spider},
            )
            self.stats.inc_value("compliance/audit/write_error")
            self.stats.inc_value("compliance/denied")
            raise RequestDenied(
                decide(
                    decision.url,
                    [Reason(Check.INTERNAL, Outcome.DENY, f"audit log not writable: {exc}")],
                )
            ) from exc
        self._records_written += 1
        return record

    def _deny(self, request: Request, decision: Decision) -> None:
        check = decision.deciding_check or Check.INTERNAL
        key = (decision.host or "", check.value)
        level = logging.DEBUG if key in self._logged else logging.INFO
        if len(self._logged) >= self.config.robots_cache_size:
            self._logged.clear()  # bounded memory on long crawls: some hosts log again
        self._logged.add(key)
        logger.log(
            level,
            "Denied by crawler-compliance (%(check)s): %(request)s: %(reason)s",
            {"check": check.value, "request": request, "reason": decision.summary()},
            extra={"spider": self.crawler.spider},
        )
        self.stats.inc_value("compliance/denied")
        self.stats.inc_value(f"compliance/{check.value}/denied")
        raise RequestDenied(decision)

    # -- robots.txt -------------------------------------------------------------

    async def _robots_for(
        self, request: Request, canonical: Any, key: tuple[Any, ...]
    ) -> RobotsResult:
        cached = self.robots_cache.get(key)
        if cached is not None:
            self._count("compliance/robots/cache_hit")
            return cached
        waiters = self._inflight.get(key)
        if waiters is not None:
            self.stats.inc_value("compliance/robots/waited")
            waiter: Deferred[RobotsResult] = Deferred()
            waiters.append(waiter)
            return await maybe_deferred_to_future(waiter)
        self._inflight[key] = []
        result = None
        try:
            if self._cluster is not None and self._cluster.state is not None:
                fresh = await self._cluster.robots(
                    key,
                    functools.partial(self._fetcher.fetch_outcome, canonical.robots_url, request),
                    on_429=self._fetcher.on_429,
                    max_ttl=self._robots_max_ttl,
                )
            else:
                fresh = await self._fetcher.fetch(canonical.robots_url, request)
            result = self.robots_cache.put(key, fresh)
            self.stats.set_value("compliance/robots/cached_origins", len(self.robots_cache))
        except BaseException as exc:
            logger.error(
                "crawler-compliance: robots.txt fetch for %(url)s failed",
                {"url": canonical.robots_url},
                exc_info=True,
                extra={"spider": self.crawler.spider},
            )
            result = robots_from_fetch(status=None, error=f"internal error: {exc}")
            if not isinstance(exc, Exception):
                raise
        finally:
            # Whatever happened, nobody is left waiting: they get the result,
            # or a disallow-all when there is none.
            if result is None:
                result = robots_from_fetch(status=None, error="internal error")
            for waiter in self._inflight.pop(key, ()):
                waiter.callback(result)
        return result

    def _offsite_drops(self, url: str) -> bool:
        """Would Scrapy's offsite filtering drop a request to *url*?"""
        spider = self.crawler.spider
        domains = getattr(spider, "allowed_domains", None)
        if not domains:
            return False
        from scrapy.utils.url import url_is_from_any_domain

        return not url_is_from_any_domain(url, [d for d in domains if d])

    async def _honour_crawl_delay(self, key: tuple[Any, ...], robots: RobotsResult) -> None:
        """Space requests to one origin by its Crawl-delay (clamped by the policy)."""
        if robots.robots is None:
            return
        delay = robots.robots.crawl_delay(self.checker.user_agent)
        if not delay:
            return
        delay = min(float(delay), self.max_crawl_delay)
        if self._cluster is not None and self._cluster.state is not None:
            return await self._cluster_crawl_delay(key, delay, robots)
        now = time.monotonic()
        start = max(now, self._next_slot.get(key, now))
        self._next_slot[key] = start + delay
        self._next_slot.move_to_end(key)
        while len(self._next_slot) > self.config.robots_cache_size:
            self._next_slot.popitem(last=False)
        if start > now:
            from twisted.internet import reactor
            from twisted.internet.task import deferLater

            self.stats.inc_value("compliance/robots/crawl_delay_waits")
            await maybe_deferred_to_future(deferLater(reactor, start - now))  # type: ignore[arg-type]

    # -- closing ------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        """Per-request counters, handed to the stats collector in batches.

        Scrapy's ``inc_value`` costs about a microsecond; the two counters
        every allowed request touches are summed here and flushed every
        ``_FLUSH_EVERY`` requests and when the spider closes.
        """
        self._pending[key] = self._pending.get(key, 0) + n
        self._pending_total += 1
        if self._pending_total >= _FLUSH_EVERY:
            self._flush_counts()

    def _flush_counts(self) -> None:
        for key, count in self._pending.items():
            self.stats.inc_value(key, count)
        self._pending.clear()
        self._pending_total = 0

    def spider_closed(self, spider: Any, reason: str) -> Any:
        self._flush_counts()
        self.audit.close()
        checkpoint = self.audit.checkpoint
        self.stats.set_value("compliance/audit/records", self._records_written)
        self.stats.set_value("compliance/audit/last_seq", checkpoint.seq)
        self.stats.set_value("compliance/audit/last_hash", checkpoint.hash)
        logger.info(
            "crawler-compliance: audit log %(path)s checkpoint %(checkpoint)s",
            {"path": checkpoint.path or self.config.audit_log, "checkpoint": str(checkpoint)},
            extra={"spider": spider},
        )
        if self._cluster is not None:
            return self._cluster.close()  # a coroutine: Scrapy awaits it
        return None

    # -- cluster: COMPLIANCE_REDIS_URL / COMPLIANCE_AUDIT_DSN (issue 12) ----------------
    # The pieces live in crawler_compliance.cluster; these methods only plug them in.

    def _cluster_setup(self, crawler: Crawler, config: Config, policy: Any) -> Any:
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
            )
        except ClusterConfigError as exc:
            raise ComplianceConfigError(str(exc)) from None
        if plug is None:
            return None
        self._robots_max_ttl = float(policy.config.robots.cache_ttl)
        plug.use_gate(lambda: self.checker.policy_fingerprint, self._cluster_reload)
        logger.info("crawler-compliance: cluster mode: %(what)s", {"what": plug.describe()})
        return plug

    async def _cluster_committed(self, decision: Decision, record: Any) -> None:
        """An allowed request waits for its record's commit; no commit in time, no fetch."""
        from crawler_compliance.cluster._redis_state import ClusterUnavailable

        try:
            await self._cluster.committed(record)
        except ClusterUnavailable as exc:
            self._cluster_unavailable(decision, exc)

    async def _cluster_crawl_delay(
        self, key: tuple[Any, ...], delay: float, robots: RobotsResult
    ) -> None:
        from crawler_compliance.cluster._redis_state import ClusterUnavailable

        try:
            await self._cluster.crawl_delay(key, delay)
        except ClusterUnavailable as exc:
            self._cluster_unavailable(decide(f"{key[0]}://{key[1]}:{key[2]}/", []), exc)

    def _cluster_unavailable(self, decision: Decision, exc: Exception) -> None:
        """Deny (and record, best effort) a request the cluster cannot vouch for."""
        self.stats.inc_value("compliance/cluster/unavailable")
        denial = decide(decision.url, [Reason(Check.INTERNAL, Outcome.DENY, str(exc))])
        logger.warning(
            "crawler-compliance: %(url)s denied: %(error)s",
            {"url": decision.url, "error": exc},
            extra={"spider": self.crawler.spider},
        )
        with contextlib.suppress(RequestDenied):  # queued after the allow it overrides
            self._record(denial)
        self.stats.inc_value("compliance/denied")
        raise RequestDenied(denial)

    async def _cluster_reload(self, wanted: str) -> None:
        """The cluster publishes another policy: load ours again and switch if it matches."""
        import asyncio

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
        self.checker = ComplianceChecker(
            policy,
            user_agent=self.checker.user_agent,
            purpose=self.config.purpose,
            suffix_list_file=self.config.suffix_list,
        )
        self.stats.inc_value("compliance/cluster/policy_reloaded")
        logger.info("crawler-compliance: now deciding with policy %(fp)s", {"fp": wanted[:12]})
