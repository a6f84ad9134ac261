"""Our own fetches of per-site files, through the Scrapy engine: one fetcher for all.

robots.txt, terms pages, ``/.well-known/tdmrep.json``, licence documents: each
is fetched the way the page that needs it would be (same proxy, download
slot, bind address, timeout and download handlers), never from a cache (we
set ``dont_cache``; a response a cache served anyway is refused), capped in
size, with redirects followed here hop by hop so each hop is decided against
the registry and audited before it is sent. The requests carry a live
:class:`~crawler_compliance._enforcement.OwnFetch` mark that only this
crawl's enforcer issued, for this fetch's URLs, while the fetch runs.

One fetch per file key at a time: concurrent requests that need the same file
wait for the one in flight and get its result, whatever happens to it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from scrapy import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler_compliance._enforcement import Enforcer, OwnFetch
from crawler_compliance._sitefiles import (
    CacheUse,
    FetchedFile,
    FetchError,
    FileNeed,
    SiteFile,
    classify_exception,
    next_hop,
)
from crawler_compliance.scrapy._exceptions import RequestDenied

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

OWN_FETCH_META = "_compliance_own"
DOWNLOAD_PRIORITY = 1000
# What of the page's meta our fetch inherits: the route, nothing else.
_ROUTE_META = ("proxy", "download_slot", "bindaddress", "download_timeout")

STATS_NAMES = {
    SiteFile.ROBOTS: "robots",
    SiteFile.TERMS: "terms",
    SiteFile.TDMREP: "tdmrep",
    SiteFile.LICENSE: "license",
}

_T = TypeVar("_T")


class Inflight:
    """One producer per key at a time; everyone else waits for its result."""

    def __init__(self) -> None:
        self._waiters: dict[tuple[object, ...], list[Deferred[Any]]] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    async def run(
        self,
        key: tuple[object, ...],
        produce: Callable[[], Awaitable[_T]],
        on_failure: Callable[[BaseException], _T],
        on_wait: Callable[[], None] = lambda: None,
    ) -> _T:
        waiters = self._waiters.get(key)
        if waiters is not None:
            on_wait()
            waiter: Deferred[_T] = Deferred()
            waiters.append(waiter)
            return await maybe_deferred_to_future(waiter)
        self._waiters[key] = []
        result: _T | None = None
        failure: BaseException | None = None
        try:
            result = await produce()
        except BaseException as exc:  # even a cancelled crawl releases the waiters
            failure = exc
            result = on_failure(exc)
        finally:
            if result is None:
                result = on_failure(failure or RuntimeError("no result"))
            for waiter in self._waiters.pop(key, ()):
                waiter.callback(result)
        if failure is not None and not isinstance(failure, Exception):
            raise failure
        return result


def response_headers(response: Any) -> dict[str, str]:
    """Lower-case header names, the last value of each (what a cache rule reads)."""
    return {
        key.decode("latin-1").lower(): values[-1].decode("latin-1")
        for key, values in response.headers.items()
        if values
    }


class EngineFileFetcher:
    """Builds, sends and follows our own requests; knows nothing of caching."""

    def __init__(
        self,
        crawler: Crawler,
        enforcer: Enforcer,
        *,
        offsite: Callable[[str], bool],
    ) -> None:
        self.crawler = crawler
        self.enforcer = enforcer
        self.offsite = offsite
        # The project's DOWNLOAD_MAXSIZE caps our fetches too (never raises the cap).
        self.project_max = crawler.settings.getint("DOWNLOAD_MAXSIZE") or 0

    def _request(self, url: str, need: FileNeed, page: Request, own: OwnFetch) -> Request:
        meta: dict[str, Any] = {
            OWN_FETCH_META: own,
            # We follow redirects ourselves so each hop is decided first.
            "dont_redirect": True,
            "handle_httpstatus_all": True,
            "dont_obey_robotstxt": True,
            # Never answered by Scrapy's HTTP cache: a stale robots.txt recorded
            # as a fresh 200 is exactly what the audit log must not say.
            "dont_cache": True,
            "dont_merge_cookies": True,
            "download_maxsize": min(need.max_bytes, self.project_max or need.max_bytes),
            "download_warnsize": 0,
        }
        for key in _ROUTE_META:
            if key in page.meta:
                meta[key] = page.meta[key]
        # Our identity, never the page's: a request copying another crawler's
        # User-Agent must not make robots.txt be read (and cached) for it.
        headers = {"User-Agent": self.enforcer.identity.header}
        if need.host_header:
            headers["Host"] = need.host_header
        return Request(
            url,
            headers=headers,
            meta=meta,
            priority=DOWNLOAD_PRIORITY,
            callback=NO_CALLBACK,
            dont_filter=True,
        )

    async def fetch(self, need: FileNeed, page: Request) -> FetchedFile:
        """Fetch *need* the way *page* would travel; every failure becomes a FetchError."""
        stats = self.crawler.stats
        assert stats is not None
        name = STATS_NAMES[need.kind]
        own = self.enforcer.open_own_fetch(need.kind, need.url)
        chain: list[str] = []
        url = need.url
        try:
            while True:
                own.urls.add(url)
                try:
                    response = await self.crawler.engine.download_async(
                        self._request(url, need, page, own)
                    )
                except Exception as exc:
                    kind = FetchError.BLOCKED if isinstance(exc, RequestDenied) else None
                    kind = kind or classify_exception(exc)
                    stats.inc_value(f"compliance/{name}/status_count/{kind.value}")
                    logger.info(
                        "crawler-compliance: %(file)s fetch %(url)s failed (%(kind)s)",
                        {"file": need.kind.value, "url": self.enforcer.redact(url), "kind": kind},
                        extra={"spider": self.crawler.spider},
                    )
                    return FetchedFile(need.url, None, error=kind, redirects=tuple(chain))
                if "cached" in response.flags:
                    stats.inc_value(f"compliance/{name}/status_count/{FetchError.CACHED.value}")
                    return FetchedFile(
                        need.url,
                        None,
                        error=FetchError.CACHED,
                        redirects=tuple(chain),
                        cache=CacheUse.REFUSED,
                    )
                status = response.status
                stats.inc_value(f"compliance/{name}/status_count/{status}")
                location = response.headers.get(b"Location")
                if 300 <= status < 400 and location:
                    target, problem = next_hop(chain, url, location.decode("latin-1"))
                    if problem is not None:
                        return FetchedFile(need.url, status, error=problem, redirects=tuple(chain))
                    if self.offsite(target):
                        logger.info(
                            "crawler-compliance: %(file)s redirect to %(target)s would be "
                            "dropped by offsite filtering",
                            {"file": need.kind.value, "target": self.enforcer.redact(target)},
                            extra={"spider": self.crawler.spider},
                        )
                        return FetchedFile(
                            need.url, None, error=FetchError.BLOCKED, redirects=tuple(chain)
                        )
                    url = target
                    continue
                return FetchedFile(
                    need.url,
                    status,
                    body=response.body,
                    headers=response_headers(response),
                    redirects=tuple(chain),
                )
        finally:
            self.enforcer.close_own_fetch(own)
