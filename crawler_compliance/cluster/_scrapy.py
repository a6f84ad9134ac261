"""The cluster stores plugged into the Scrapy middleware (asyncio reactor).

:class:`ClusterPlug` holds the four replaceable pieces the middleware calls:
the audit store (:class:`PgAuditLog`, awaited until each record is
committed), the site-file store (robots.txt outcomes shared through Redis),
the delay reserver and the policy gate. Each is ``None`` when its setting is
off, and the middleware then does what a single process does.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import heapq
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from crawler_compliance._sitefiles import CacheUse, FetchedFile, FetchError, FileNeed, robots_result
from crawler_compliance.cluster._config import ClusterConfig, ClusterConfigError, safe_dsn
from crawler_compliance.cluster._gate import PolicyGate
from crawler_compliance.cluster._redis_state import ClusterUnavailable, RedisState
from crawler_compliance.robots import RobotsResult
from crawler_compliance.robots._fetchstatus import disallow_all

logger = logging.getLogger(__name__)

_MAX_SLOT_TRIES = 20


def _encode_fetched(fetched: FetchedFile, fetched_at: float) -> dict[str, Any]:
    return {
        "url": fetched.url,
        "status": fetched.status,
        "body": base64.b64encode(fetched.body).decode(),
        "headers": dict(fetched.headers),
        "error": None if fetched.error is None else fetched.error.value,
        "redirects": list(fetched.redirects),
        "cache": fetched.cache.value,
        "detail": fetched.detail,
        "fetched_at": fetched_at,
    }


def _decode_fetched(value: dict[str, Any]) -> tuple[FetchedFile, float]:
    """The stored fetch and its time; ``ValueError`` when anything is not as written."""
    headers = value.get("headers")
    redirects = value.get("redirects")
    status = value.get("status")
    fetched_at = value.get("fetched_at")
    error = value.get("error")
    if (
        not isinstance(value.get("url"), str)
        or not (status is None or type(status) is int)
        or not isinstance(value.get("body"), str)
        or not isinstance(headers, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        or not (error is None or isinstance(error, str))
        or not isinstance(redirects, list)
        or not all(isinstance(r, str) for r in redirects)
        or not isinstance(value.get("detail"), str)
        or not isinstance(fetched_at, (int, float))
    ):
        raise ValueError("malformed stored fetch")
    fetched = FetchedFile(
        url=value["url"],
        status=status,
        body=base64.b64decode(value["body"], validate=True),
        headers=headers,
        error=None if error is None else FetchError(error),
        redirects=tuple(redirects),
        cache=CacheUse(value.get("cache")),
        detail=value["detail"],
    )
    return fetched, float(fetched_at)


# Outcomes our own side caused (a hop denied, an internal failure): this
# worker's state, not the site's answer, so never shared with the cluster.
_NOT_SHARED = frozenset({FetchError.BLOCKED, FetchError.INTERNAL, FetchError.CACHED})


class ClusterPlug:
    """What the middleware calls when COMPLIANCE_REDIS_URL / COMPLIANCE_AUDIT_DSN are set."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        stats: Any,
        audit: Any,
        state: RedisState | None,
        lock_ttl: float,
    ) -> None:
        self.config = config
        self.stats = stats
        self.audit = audit  # PgAuditLog | None
        self.state = state
        self.gate: PolicyGate | None = None
        self.lock_ttl = lock_ttl
        self.robots_max_ttl = 86400.0  # the policy's robots.cache_ttl (set by the adapter)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tie = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        if audit is not None:
            audit.on_commit = self._committed_from_thread

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        stats: Any,
        redact_params: Any,
        redact_key: bytes | None,
        transparency: Any = None,
    ) -> ClusterPlug | None:
        config = ClusterConfig.from_settings(settings)
        if not config.enabled:
            return None
        from scrapy.utils.reactor import is_asyncio_reactor_installed

        if not is_asyncio_reactor_installed():
            raise ClusterConfigError(
                "COMPLIANCE_REDIS_URL / COMPLIANCE_AUDIT_DSN need Twisted's asyncio reactor: "
                "set TWISTED_REACTOR = "
                "'twisted.internet.asyncioreactor.AsyncioSelectorReactor'"
            )
        if config.audit_dsn and settings.get("COMPLIANCE_AUDIT_LOG"):
            raise ClusterConfigError(
                "COMPLIANCE_AUDIT_LOG and COMPLIANCE_AUDIT_DSN are both set: the audit goes "
                "to one store, the file or the database; unset one of them"
            )
        audit = None
        if config.audit_dsn:
            from crawler_compliance.cluster._pg_audit import PgAuditLog

            audit = PgAuditLog(
                config.audit_dsn,
                worker=config.worker,
                redact_params=redact_params,
                redact_key=redact_key,
                close_timeout=config.wait,
                # The file log's tree settings: COMPLIANCE_AUDIT_CHECKPOINT_EVERY,
                # COMPLIANCE_AUDIT_ORIGIN, COMPLIANCE_AUDIT_SIGNING_KEY.
                origin=getattr(transparency, "origin", None),
                signer=getattr(transparency, "signer", None),
                checkpoint_every=getattr(transparency, "checkpoint_every", 1000),
            )
        state = None
        if config.redis_url:
            state = RedisState(
                config.redis_url, prefix=config.prefix, key=config.key, wait=config.wait
            )
        lock_ttl = float(settings.getfloat("DOWNLOAD_TIMEOUT", 180)) + 5.0
        return cls(config, stats=stats, audit=audit, state=state, lock_ttl=lock_ttl)

    def describe(self) -> str:
        parts = []
        if self.audit is not None:
            where = safe_dsn(self.config.audit_dsn or "")
            parts.append(f"audit {where} chain {self.audit.chain_id}")
        if self.state is not None:
            parts.append(f"shared state {self.state.where}")
        return ", ".join(parts)

    # -- audit: released only once committed ----------------------------------------

    def _committed_from_thread(self, seq: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._release, seq)

    def _release(self, seq: int) -> None:
        waiters = self._waiters
        while waiters and waiters[0][0] <= seq:
            future = heapq.heappop(waiters)[2]
            if not future.done():
                future.set_result(None)

    async def committed(self) -> None:
        """Return once the record just appended is committed; :class:`ClusterUnavailable`.

        Called right after the decision was recorded, with nothing in between
        on the reactor thread: the chain's last appended seq is that record's.
        """
        audit = self.audit
        if audit is None:
            return
        seq = audit.appended_seq
        if audit.committed_seq >= seq:
            return
        self._loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = self._loop.create_future()
        self._tie += 1
        heapq.heappush(self._waiters, (seq, self._tie, future))
        self._release(audit.committed_seq)  # committed between the check and the push
        try:
            await asyncio.wait_for(future, self.config.wait)
        except asyncio.TimeoutError:
            self.stats.inc_value("compliance/cluster/audit_timeout")
            raise ClusterUnavailable(
                f"audit record {seq} not committed to {audit.where} within "
                f"{self.config.wait:g}s ({audit.error or 'database slow or unreachable'})"
            ) from None

    # -- robots.txt, once per origin cluster-wide -----------------------------------------

    async def robots(
        self,
        need: FileNeed,
        fetch: Callable[[], Awaitable[FetchedFile]],
        enforcer: Any,
    ) -> RobotsResult:
        """The robots.txt result for *need*, fetched by one worker of the cluster."""
        assert self.state is not None
        max_ttl = self.robots_max_ttl
        shared_key = json.dumps([None if k is None else str(k) for k in need.key])

        async def fetch_for_cluster() -> tuple[dict[str, Any], float]:
            fetched = await fetch()
            now = time.time()
            if fetched.error in _NOT_SHARED:
                return _encode_fetched(fetched, now), 0.0
            result = robots_result(fetched, on_429=enforcer.on_429)
            return _encode_fetched(fetched, now), min(result.expires_at, now + max_ttl) - now

        try:
            value, here = await self.state.shared_file(
                "robots", shared_key, fetch_for_cluster, lock_ttl=self.lock_ttl
            )
            fetched, fetched_at = _decode_fetched(value)
        except (ClusterUnavailable, ValueError) as exc:
            self.stats.inc_value("compliance/cluster/unavailable")
            # Expires at once: the next request asks again (a last good copy may stand in).
            unavailable = disallow_all(
                "cluster-unavailable",
                f"the cluster's robots.txt result is unavailable ({exc}): disallow all",
                ttl=0,
            )
            return enforcer.robots_cache.put(need.key, unavailable)  # type: ignore[no-any-return]
        self.stats.inc_value(f"compliance/cluster/robots_{'fetched' if here else 'shared'}")
        result = robots_result(fetched, on_429=enforcer.on_429)
        age = max(0.0, time.time() - fetched_at)
        if age:  # another worker's fetch: it expires when theirs does (RFC 9309 §2.4)
            result = dataclasses.replace(
                result, fetched_at=fetched_at, expires_at=result.expires_at - age
            )
        return enforcer.robots_cache.put(need.key, result)  # type: ignore[no-any-return]

    # -- Crawl-delay across workers -----------------------------------------------------

    async def crawl_delay(self, key: tuple[Any, ...], delay: float) -> None:
        """Wait for this origin's next cluster-wide slot; :class:`ClusterUnavailable`."""
        assert self.state is not None
        origin = json.dumps([None if k is None else str(k) for k in key[:3]])
        margin = self.config.delay_margin
        loop = asyncio.get_running_loop()
        for _ in range(_MAX_SLOT_TRIES):
            wait = await self.state.reserve_slot(origin, delay + margin)
            due = loop.time() + wait
            if wait > 0:
                self.stats.inc_value("compliance/robots/crawl_delay_waits")
                await asyncio.sleep(wait)
            # Slots are one delay plus the margin apart. A request that goes on
            # within half the margin after its slot leaves the other half for
            # the way from here to the wire, and keeps the delay to both
            # neighbours. Later (the process was blocked: a frozen Redis stalls
            # scrapy-redis's own client), the slot is void and another is reserved.
            if loop.time() - due <= margin / 2:
                return
            self.stats.inc_value("compliance/cluster/slot_missed")
        raise ClusterUnavailable(
            f"no Crawl-delay slot could be used on time in {_MAX_SLOT_TRIES} tries "
            "(the worker is overloaded or blocked)"
        )

    # -- the policy version ---------------------------------------------------------------

    def use_gate(self, own: Callable[[], str], reload: Callable[[str], Awaitable[None]]) -> None:
        if self.state is not None:
            self.gate = PolicyGate(
                self.state, interval=self.config.policy_check_interval, own=own, reload=reload
            )

    async def close(self) -> None:
        if self.audit is not None:
            await asyncio.to_thread(self.audit.close)  # idempotent: closed at spider_closed
            self.stats.set_value("compliance/cluster/audit_commits", self.audit.commits)
            self.stats.set_value("compliance/cluster/audit_chain", self.audit.chain_id)
        if self.state is not None:
            self.stats.set_value("compliance/cluster/redis_errors", self.state.errors)
            try:
                await self.state.aclose()
            except Exception:  # noqa: BLE001 - closing a dead connection
                logger.debug("crawler-compliance: closing the Redis connection failed")
