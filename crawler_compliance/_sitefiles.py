"""Per-site files we fetch ourselves (robots.txt, terms pages, well-known files, licences).

The vocabulary every adapter's fetcher speaks, so the rules exist once:

- :class:`FileNeed` — "to decide this URL, this file is needed" (what, where,
  under which cache key, how large at most, with which ``Host`` header);
- :class:`FetchedFile` — what the fetch gave (status, body, headers, the
  redirect chain, or a :class:`FetchError`), and whether a cache could have
  answered (:class:`CacheUse`);
- :func:`next_hop` — the one redirect rule (RFC 9309 §2.3.1.2: at most five
  hops; a repeated URL is a loop; every hop is decided before it is sent);
- :func:`classify_exception` — the one mapping from a download failure (Scrapy,
  Twisted or the standard library) to a :class:`FetchError`.

Sans-I/O: adapters do the fetching and hand the outcome back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from crawler_compliance.robots import MAX_REDIRECTS, RobotsResult, robots_from_fetch

__all__ = [
    "CacheUse",
    "FetchError",
    "FetchedFile",
    "FileNeed",
    "SiteFile",
    "classify_exception",
    "next_hop",
    "robots_result",
]


class SiteFile(str, enum.Enum):
    """The kinds of file we fetch on our own account."""

    ROBOTS = "robots.txt"
    TERMS = "terms"
    TDMREP = "tdmrep"
    LICENSE = "license"


class FetchError(str, enum.Enum):
    """Why a fetch gave no usable response. The values are the audit log's words."""

    DNS = "dns-error"
    TIMEOUT = "timeout"
    CONNECTION = "connection-error"
    TLS = "tls-error"
    TOO_LARGE = "too-large"
    BLOCKED = "blocked"  # a hop was denied (registry, offsite): never contacted
    REDIRECT_LOOP = "redirect-loop"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    INVALID_URL = "invalid-url"
    CACHED = "served-from-cache"  # a cache answered although told not to: not used
    FETCH = "fetch-error"
    INTERNAL = "internal-error"


class CacheUse(str, enum.Enum):
    """Could a cache have answered our fetch? Recorded with every own fetch."""

    BYPASSED = "bypassed"  # sent with caches told not to answer (Scrapy: dont_cache)
    REFUSED = "refused"  # a cache answered anyway; the answer was not used
    NONE = "none"  # the fetcher has no cache at all (the CLI's urllib fetcher)


@dataclass(frozen=True)
class FileNeed:
    """One file a decision needs. ``key`` names it in caches (origin and route)."""

    kind: SiteFile
    url: str
    key: tuple[object, ...]
    max_bytes: int
    host_header: str | None = None  # send this Host (the page's vhost), else the URL's


@dataclass(frozen=True)
class FetchedFile:
    """What one fetch (after its redirects) gave."""

    url: str  # the URL asked for first
    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    error: FetchError | None = None
    redirects: tuple[str, ...] = ()  # each URL that redirected, in order
    cache: CacheUse = CacheUse.BYPASSED
    detail: str = ""  # a short, already-redacted text for the audit log


def next_hop(chain: list[str], current: str, location: str) -> tuple[str, FetchError | None]:
    """Where a redirect from *current* goes, and why it is not followed (or ``None``).

    Appends *current* to *chain*. On a loop the target is appended too, so the
    chain shows the repeat. The caller decides a followed target (registry,
    offsite) before sending anything to it.
    """
    target = urljoin(current, location.strip())
    chain.append(current)
    if target in chain:
        chain.append(target)
        return target, FetchError.REDIRECT_LOOP
    if len(chain) > MAX_REDIRECTS:
        return target, FetchError.TOO_MANY_REDIRECTS
    return target, None


_BY_NAME = (
    (FetchError.DNS, {"CannotResolveHostError", "DNSLookupError", "gaierror"}),
    (
        FetchError.TIMEOUT,
        {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "timeout", "_Deadline"},
    ),
    (FetchError.TLS, {"SSLError", "TLSError", "CertificateError"}),
    (FetchError.TOO_LARGE, {"DownloadCancelledError", "CancelledError"}),
    (
        FetchError.CONNECTION,
        {
            "DownloadConnectionRefusedError",
            "ConnectionRefusedError",
            "ConnectError",
            "ConnectionLost",
            "ConnectionDone",
            "ResponseNeverReceived",
            "ResponseFailed",
            "DownloadFailedError",
            "ResponseDataLossError",
            "ConnectionError",
            "RemoteDisconnected",
            "IncompleteRead",
            "HTTPException",
        },
    ),
)


def classify_exception(exc: BaseException) -> FetchError:
    """A :class:`FetchError` for a download failure, by the exception's class names.

    Names, not imports, so the core needs neither Scrapy nor Twisted. Scrapy
    cancels a download that passes ``DOWNLOAD_MAXSIZE``, hence "too large"
    for a cancelled one; its compression middleware refuses a body that
    inflates past the cap with an ``IgnoreRequest`` saying "maxsize".
    """
    reason = getattr(exc, "reason", None)  # urllib wraps the socket error
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(reason, BaseException):
        names |= {cls.__name__ for cls in type(reason).__mro__}
    for kind, known in _BY_NAME:
        if names & known:
            return kind
    if "IgnoreRequest" in names:
        text = str(exc).lower().replace("_", "").replace(" ", "")
        return FetchError.TOO_LARGE if "maxsize" in text else FetchError.FETCH
    if "ValueError" in names:
        return FetchError.INVALID_URL
    return FetchError.FETCH


def robots_result(fetched: FetchedFile, *, on_429: str) -> RobotsResult:
    """The RFC 9309 fetch-status rules applied to one fetch of robots.txt."""
    if fetched.error is not None:
        return robots_from_fetch(
            status=None, error=fetched.error.value, redirects=list(fetched.redirects)
        )
    return robots_from_fetch(
        status=fetched.status,
        body=fetched.body,
        headers=dict(fetched.headers),
        redirects=list(fetched.redirects),
        on_429=on_429,
    )
