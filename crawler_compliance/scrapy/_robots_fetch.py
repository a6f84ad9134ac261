"""Fetch robots.txt through the Scrapy engine, one fetch per origin.

The fetch goes through the engine like any request, so it uses the same
proxy, headers and download handlers as the page that needs it. Redirects
are followed here, hop by hop, so every hop is checked against the registry
and audited before it is sent (Scrapy's RedirectMiddleware would follow them
unseen). Every way the fetch can fail becomes a ``RobotsResult`` through the
engine's fetch-status rules: nothing here ever allows on failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK

# RFC 9309 §2.3.1.2: follow at least five consecutive redirects (the engine's limit).
from crawler_compliance.robots import MAX_REDIRECTS, RobotsResult, robots_from_fetch
from crawler_compliance.scrapy._exceptions import RequestDenied

logger = logging.getLogger(__name__)

# The engine parses the first 512 KiB; a robots.txt body (decompressed) over
# this is refused as too large rather than inflated into memory.
ROBOTS_MAX_DOWNLOAD = 4 * 1024 * 1024
DOWNLOAD_PRIORITY = 1000


@dataclass(frozen=True)
class RobotsFetchOutcome:
    """What a robots.txt fetch came to, before the fetch-status rules: shareable as data.

    ``robots_from_fetch(**outcome.kwargs(), now=...)`` turns it into the
    result; a cluster store keeps this (not the parsed object) so any worker
    can rebuild the same result.
    """

    status: int | None
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    error: str | None = None
    redirects: tuple[str, ...] = ()

    def kwargs(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "error": self.error,
            "redirects": list(self.redirects),
        }


def _error_kind(exc: BaseException) -> str:
    """A short name for a download failure, for the audit log and the stats."""
    from scrapy import exceptions as sx

    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"CannotResolveHostError", "DNSLookupError"}:
        return "dns-error"
    if names & {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError"}:
        return "timeout"
    if isinstance(exc, getattr(sx, "DownloadCancelledError", ())) or "CancelledError" in names:
        return "too-large"  # Scrapy cancels a download that passes DOWNLOAD_MAXSIZE
    if names & {
        "DownloadConnectionRefusedError",
        "ConnectionRefusedError",
        "ConnectError",
        "ConnectionLost",
        "ConnectionDone",
        "ResponseNeverReceived",
        "ResponseFailed",
        "DownloadFailedError",
        "ResponseDataLossError",
    }:
        return "connection-error"
    return "fetch-error"


def _headers(response: Any) -> dict[str, str]:
    return {
        key.decode("latin-1").lower(): values[-1].decode("latin-1")
        for key, values in response.headers.items()
        if values
    }


class EngineRobotsFetcher:
    """Builds and sends robots.txt requests; knows nothing of caching.

    Each request (every hop, every retry) is decided and audited by the
    middleware's ``process_request`` like any other, so a hop into a covered
    host ends as a :class:`RequestDenied`, read here as "blocked".
    ``offsite(url)`` says whether Scrapy's offsite filtering would drop a
    redirect target.
    """

    def __init__(
        self,
        crawler: Any,
        *,
        own_marker: object,
        user_agent: str,
        on_429: str,
        offsite: Callable[[str], bool],
        max_download: int = ROBOTS_MAX_DOWNLOAD,
    ) -> None:
        self.crawler = crawler
        self.own_marker = own_marker
        self.user_agent = user_agent
        self.on_429 = on_429
        self.offsite = offsite
        self.max_download = max_download

    def _request(self, url: str, page: Request) -> Request:
        meta: dict[str, Any] = {
            "_compliance_own": self.own_marker,
            # We follow redirects ourselves so each hop is decided first.
            "dont_redirect": True,
            "handle_httpstatus_all": True,
            "dont_obey_robotstxt": True,
            "download_maxsize": self.max_download,
            "download_warnsize": 0,
        }
        # The page's robots.txt must travel the page's route (RFC 9309 is
        # about the origin the page comes from, seen the way we will see it).
        for key in ("proxy", "download_slot", "bindaddress", "download_timeout"):
            if key in page.meta:
                meta[key] = page.meta[key]
        headers = {"User-Agent": page.headers.get(b"User-Agent") or self.user_agent}
        return Request(
            url,
            headers=headers,
            meta=meta,
            priority=DOWNLOAD_PRIORITY,
            callback=NO_CALLBACK,
            dont_filter=True,
        )

    async def fetch(self, robots_url: str, page: Request) -> RobotsResult:
        outcome = await self.fetch_outcome(robots_url, page)
        return robots_from_fetch(**outcome.kwargs(), on_429=self.on_429)

    async def fetch_outcome(self, robots_url: str, page: Request) -> RobotsFetchOutcome:
        chain: list[str] = []
        url = robots_url
        stats = self.crawler.stats
        while True:
            try:
                response = await self.crawler.engine.download_async(self._request(url, page))
            except Exception as exc:
                if isinstance(exc, RequestDenied):
                    kind = "blocked"  # the hop's own deny record says why
                elif isinstance(exc, IgnoreRequest):
                    # HttpCompressionMiddleware refuses a body that inflates past
                    # download_maxsize (a gzip bomb) with an IgnoreRequest.
                    text = str(exc).lower().replace("_", "").replace(" ", "")
                    kind = "too-large" if "maxsize" in text else "fetch-error"
                else:
                    kind = _error_kind(exc)
                stats.inc_value(f"compliance/robots/status_count/{kind}")
                logger.info(
                    "crawler-compliance: robots.txt fetch %(url)s failed (%(kind)s): %(error)r",
                    {"url": url, "kind": kind, "error": exc},
                    extra={"spider": self.crawler.spider},
                )
                return RobotsFetchOutcome(status=None, error=kind, redirects=tuple(chain))
            status = response.status
            stats.inc_value(f"compliance/robots/status_count/{status}")
            location = response.headers.get(b"Location")
            if 300 <= status < 400 and location:
                target = urljoin(url, location.decode("latin-1"))
                chain.append(url)  # the URLs we were redirected from, like redirect_urls
                if target in chain:
                    return RobotsFetchOutcome(status=status, redirects=(*chain, target))
                if len(chain) > MAX_REDIRECTS:
                    return RobotsFetchOutcome(status=status, redirects=tuple(chain))
                if self.offsite(target):
                    logger.info(
                        "crawler-compliance: robots.txt redirect to %(target)s would be "
                        "dropped by offsite filtering",
                        {"target": target},
                        extra={"spider": self.crawler.spider},
                    )
                    return RobotsFetchOutcome(status=None, error="blocked", redirects=tuple(chain))
                url = target
                continue
            return RobotsFetchOutcome(
                status=status,
                body=response.body,
                headers=_headers(response),
                redirects=tuple(chain),
            )
