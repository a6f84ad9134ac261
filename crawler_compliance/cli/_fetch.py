"""The CLI's small robots.txt fetcher: urllib, our own redirect loop, a deadline, a size cap.

Why not let urllib follow redirects: every hop must pass the registry check
(``allow_url``) before we connect to it, RFC 9309 §2.3.1.2 caps the chain at
five, and loops must be recognised. Why a deadline and not only a socket
timeout: a server dripping one byte every few seconds never trips a
per-read timeout. Nothing here raises on a network failure; every outcome
goes through :func:`crawler_compliance.robots.robots_from_fetch`, so the CLI
applies the same fetch-status rules as the Scrapy middleware.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from crawler_compliance._sitefiles import (
    CacheUse,
    FetchedFile,
    FetchError,
    classify_exception,
    next_hop,
)
from crawler_compliance.robots import MAX_REDIRECTS, RobotsResult, robots_from_fetch
from crawler_compliance.robots._fetchstatus import disallow_all

_CHUNK = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back to us instead of following them."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, D102
        return None


class _Deadline(Exception):
    pass


def _opener(proxy: str | None) -> urllib.request.OpenerDirector:
    # proxy=None means a direct connection: environment proxies are not consulted,
    # so what the CLI contacts is exactly what the command line says.
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirect())


def _read_capped(response, max_bytes: int, deadline: float) -> bytes:  # noqa: ANN001
    """Read at most ``max_bytes + 1`` octets (the extra one tells the parser the body
    was cut) before ``deadline``. ``read1`` returns what has arrived, so a server
    dripping bytes is caught by the deadline, not only by the per-read timeout."""
    parts: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise _Deadline
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _error_code(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)) or isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(reason, socket.gaierror):
        return "dns-error"
    if isinstance(reason, ssl.SSLError):
        return "tls-error"
    return "connection-error"


def fetch_robots(
    url_of_robots_txt: str,
    *,
    user_agent: str,
    timeout: float = 10.0,
    max_bytes: int = 512 * 1024,
    allow_url: Callable[[str], str | None] = lambda u: None,
    proxy: str | None = None,
    on_429: str = "deny",
) -> RobotsResult:
    """Fetch a robots.txt URL and return what it means; never raises for network errors.

    ``timeout`` bounds the whole fetch, redirects included. ``allow_url(url)``
    is asked before each hop: a returned string is a deny reason, and the
    result is then disallow-all without contacting that URL. ``on_429`` is
    the policy's ``robots.on_429``.
    """
    deadline = time.monotonic() + timeout
    opener = _opener(proxy)
    url = url_of_robots_txt
    chain: list[str] = []  # one entry per redirect followed: the URL that redirected
    while True:
        denied = allow_url(url)
        if denied is not None:
            return disallow_all(
                "blocked",
                f"robots.txt at {url} was not fetched: {denied}; without it, disallow all",
            )
        if urlsplit(url).scheme not in ("http", "https"):
            return robots_from_fetch(status=None, error="invalid-url", redirects=chain)
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": user_agent,
                "Accept": "text/plain, */*;q=0.5",
                "Accept-Encoding": "gzip, identity",
            },
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return robots_from_fetch(status=None, error="timeout", redirects=chain)
        try:
            response = opener.open(request, timeout=remaining)
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, dict(exc.headers or {})
            location = exc.headers.get("Location") if exc.headers else None
            exc.close()
            if 300 <= status < 400 and location:
                target = urljoin(url, location.strip())
                chain.append(url)
                if target in chain or len(chain) > MAX_REDIRECTS:
                    # robots_from_fetch names it: a repeated URL is a loop, a sixth hop
                    # is too many (RFC 9309 §2.3.1.2).
                    return robots_from_fetch(status=status, redirects=[*chain, target])
                url = target
                continue
            # Error bodies are not robots.txt: only the status matters (RFC 9309 §2.3.1).
            return robots_from_fetch(status=status, headers=headers, redirects=chain, on_429=on_429)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            return robots_from_fetch(status=None, error=_error_code(exc), redirects=chain)
        except ValueError as exc:  # malformed URL or header
            return robots_from_fetch(status=None, error=f"invalid-url: {exc}", redirects=chain)
        with response:
            status, headers = response.status, dict(response.headers)
            try:
                body = _read_capped(response, max_bytes, deadline)
            except _Deadline:
                return robots_from_fetch(status=None, error="timeout", redirects=chain)
            except (OSError, http.client.HTTPException) as exc:
                return robots_from_fetch(status=None, error=_error_code(exc), redirects=chain)
        # A body past the cap is cut; robots_from_fetch parses its start (RFC 9309 §2.5).
        return robots_from_fetch(
            status=status, body=body, headers=headers, redirects=chain, max_bytes=max_bytes
        )


# --- any small page (terms pages): the same loop, the raw outcome -------------------------


def proxy_for(url: str, proxy: str | None) -> str | None:
    """The proxy a fetch of *url* goes through: *proxy* when given, else the
    ``http_proxy`` / ``https_proxy`` environment (``no_proxy`` honoured), like the crawl."""
    if proxy:
        return proxy
    parts = urlsplit(url)
    environment = urllib.request.getproxies()
    chosen = environment.get(parts.scheme)
    if chosen and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return chosen or None


def fetch_page(
    url: str,
    *,
    user_agent: str,
    timeout: float = 20.0,
    max_bytes: int = 2 * 1024 * 1024,
    allow_url: Callable[[str, str | None], str | None] = lambda u, p: None,
    proxy: str | None = None,
    accept: str = "text/html, text/plain;q=0.9, */*;q=0.1",
) -> FetchedFile:
    """Fetch one page (a terms page); never raises for network errors.

    Redirects are followed by hand (the one rule, :func:`next_hop`), and
    ``allow_url(url, proxy)`` is asked before each hop is contacted: a returned
    string is a deny reason and nothing is sent (``FetchError.BLOCKED``, the
    reason in ``detail``). ``timeout`` bounds the whole fetch; a body longer
    than ``max_bytes`` is ``FetchError.TOO_LARGE``. *proxy* overrides the
    environment's proxies (:func:`proxy_for`).
    """
    first = url
    deadline = time.monotonic() + timeout
    chain: list[str] = []

    def failed(error: FetchError, status: int | None = None, detail: str = "") -> FetchedFile:
        return FetchedFile(
            first, status, error=error, redirects=tuple(chain), cache=CacheUse.NONE, detail=detail
        )

    while True:
        hop_proxy = proxy_for(url, proxy)
        denied = allow_url(url, hop_proxy)
        if denied is not None:
            return failed(FetchError.BLOCKED, detail=denied)
        if urlsplit(url).scheme not in ("http", "https"):
            return failed(FetchError.INVALID_URL)
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": user_agent,
                "Accept": accept,
                "Accept-Encoding": "gzip, identity",
            },
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return failed(FetchError.TIMEOUT)
        try:
            response = _opener(hop_proxy).open(request, timeout=remaining)
        except urllib.error.HTTPError as exc:
            status = exc.code
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            exc.close()
            location = headers.get("location")
            if 300 <= status < 400 and location:
                target, problem = next_hop(chain, url, location)
                if problem is not None:
                    return failed(problem, status)
                url = target
                continue
            return FetchedFile(
                first, status, headers=headers, redirects=tuple(chain), cache=CacheUse.NONE
            )
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            return failed(classify_exception(exc))
        except ValueError:
            return failed(FetchError.INVALID_URL)
        with response:
            status = response.status
            headers = {k.lower(): v for k, v in response.headers.items()}
            try:
                body = _read_capped(response, max_bytes, deadline)
            except _Deadline:
                return failed(FetchError.TIMEOUT)
            except (OSError, http.client.HTTPException) as exc:
                return failed(classify_exception(exc))
        if len(body) > max_bytes:
            return failed(FetchError.TOO_LARGE, status)
        return FetchedFile(
            first, status, body, headers, redirects=tuple(chain), cache=CacheUse.NONE
        )
