"""The CLI's small robots.txt fetcher: urllib, our own redirect loop, a deadline, a size cap.

Why not let urllib follow redirects: every hop must pass the registry check
(``allow_url``) before we connect to it, RFC 9309 §2.3.1.2 caps the chain at
five, and loops must be recognised. Why a deadline and not only a socket
timeout: a server dripping one byte every few seconds never trips a
per-read timeout, neither in the body nor in the status line and headers
(which urllib reads before we see anything). A watchdog shuts down every
socket of the fetch when the deadline passes, so ``timeout`` bounds the
whole fetch, redirects, TLS handshake and dripped headers included.
Nothing here raises on a network failure; every outcome goes through
:func:`crawler_compliance.robots.robots_from_fetch`, so the CLI
applies the same fetch-status rules as the Scrapy middleware.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crawler_compliance._sitefiles import (
    CacheUse,
    FetchedFile,
    FetchError,
    classify_exception,
    next_hop,
)
from crawler_compliance.robots import (
    DEFAULT_MAX_BYTES,
    RobotsResult,
    robots_from_fetch,
)
from crawler_compliance.robots._fetchstatus import disallow_all

_CHUNK = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back to us instead of following them."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> None:
        return None


class _Deadline(Exception):
    pass


class _Watchdog:
    """Shuts down the fetch's sockets when its deadline passes (a blocked read then ends)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self.deadline

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> Any:
    """``base`` whose every new socket is handed to ``watchdog``."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            create = getattr(self, "_create_connection")  # noqa: B009 (http.client's hook)

            def create_watched(*a: object, **kw: object) -> socket.socket:
                sock: socket.socket = create(*a, **kw)
                watchdog.watch(sock)
                return sock

            setattr(self, "_create_connection", create_watched)  # noqa: B010

    return Watched


def _opener(proxy: str | None, watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    # proxy=None means a direct connection: environment proxies are not consulted,
    # so what the CLI contacts is exactly what the command line says.
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    http_class = _watched(http.client.HTTPConnection, watchdog)
    https_class = _watched(http.client.HTTPSConnection, watchdog)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(http_class, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            context = getattr(self, "_context", None)
            return self.do_open(https_class, req, context=context)

    return urllib.request.build_opener(
        urllib.request.ProxyHandler(proxies), _NoRedirect(), HTTPHandler(), HTTPSHandler()
    )


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
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
    """The one fetch-error classification (``_sitefiles.classify_exception``); an
    unnamed network failure of urllib's is a connection error."""
    kind = classify_exception(exc)
    return str((FetchError.CONNECTION if kind is FetchError.FETCH else kind).value)


def fetch_robots(
    url_of_robots_txt: str,
    *,
    user_agent: str,
    timeout: float = 10.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
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
    watchdog = _Watchdog(deadline)
    try:
        return _fetch(
            url_of_robots_txt,
            user_agent=user_agent,
            deadline=deadline,
            max_bytes=max_bytes,
            allow_url=allow_url,
            opener=_opener(proxy, watchdog),
            watchdog=watchdog,
            on_429=on_429,
        )
    finally:
        watchdog.cancel()


def _fetch(
    url_of_robots_txt: str,
    *,
    user_agent: str,
    deadline: float,
    max_bytes: int,
    allow_url: Callable[[str], str | None],
    opener: urllib.request.OpenerDirector,
    watchdog: _Watchdog,
    on_429: str,
) -> RobotsResult:
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
                url, problem = next_hop(chain, url, location)
                if problem is not None:
                    # robots_from_fetch names it from the chain: a repeated URL is a
                    # loop, a sixth hop is too many (RFC 9309 §2.3.1.2).
                    return robots_from_fetch(status=status, redirects=chain)
                continue
            # Error bodies are not robots.txt: only the status matters (RFC 9309 §2.3.1).
            return robots_from_fetch(status=status, headers=headers, redirects=chain, on_429=on_429)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            error = "timeout" if watchdog.expired else _error_code(exc)
            return robots_from_fetch(status=None, error=error, redirects=chain)
        except ValueError as exc:  # malformed URL or header
            return robots_from_fetch(status=None, error=f"invalid-url: {exc}", redirects=chain)
        with response:
            status, headers = response.status, dict(response.headers)
            try:
                body = _read_capped(response, max_bytes, deadline)
                if watchdog.expired:
                    # The watchdog cut the connection: what was read is a partial body.
                    raise _Deadline
            except _Deadline:
                return robots_from_fetch(status=None, error="timeout", redirects=chain)
            except (OSError, http.client.HTTPException) as exc:
                error = "timeout" if watchdog.expired else _error_code(exc)
                return robots_from_fetch(status=None, error=error, redirects=chain)
        # A body past the cap is cut; robots_from_fetch parses its start (RFC 9309 §2.5).
        return robots_from_fetch(
            status=status, body=body, headers=headers, redirects=chain, max_bytes=max_bytes
        )


def fetch_file(
    url: str,
    *,
    user_agent: str,
    timeout: float = 10.0,
    max_bytes: int = 512 * 1024,
    allow_url: Callable[[str], str | None] = lambda u: None,
    proxy: str | None = None,
) -> FetchedFile:
    """Fetch any per-site file (tdmrep.json, a licence) as a :class:`FetchedFile`.

    The same rules as :func:`fetch_robots`: every hop is asked to
    ``allow_url`` before it is contacted (a refusal is ``FetchError.BLOCKED``),
    redirects follow :func:`~crawler_compliance._sitefiles.next_hop`, the whole
    fetch has one deadline, the body is read up to ``max_bytes`` (a longer one
    is ``FetchError.TOO_LARGE``). Never raises for network errors.
    """
    deadline = time.monotonic() + timeout
    watchdog = _Watchdog(deadline)
    try:
        return _fetch_file(
            url,
            user_agent=user_agent,
            deadline=deadline,
            max_bytes=max_bytes,
            allow_url=allow_url,
            opener=_opener(proxy, watchdog),
            watchdog=watchdog,
        )
    finally:
        watchdog.cancel()


def _fetch_file(
    url: str,
    *,
    user_agent: str,
    deadline: float,
    max_bytes: int,
    allow_url: Callable[[str], str | None],
    opener: urllib.request.OpenerDirector,
    watchdog: _Watchdog,
) -> FetchedFile:
    chain: list[str] = []
    current = url

    def failed(error: FetchError, status: int | None = None) -> FetchedFile:
        return FetchedFile(url, status, error=error, redirects=tuple(chain), cache=CacheUse.NONE)

    while True:
        if allow_url(current) is not None:
            return failed(FetchError.BLOCKED)
        if urlsplit(current).scheme not in ("http", "https"):
            return failed(FetchError.INVALID_URL)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return failed(FetchError.TIMEOUT)
        request = urllib.request.Request(
            current,
            headers={"User-Agent": user_agent, "Accept": "*/*", "Accept-Encoding": "identity"},
        )
        try:
            response = opener.open(request, timeout=remaining)
        except urllib.error.HTTPError as exc:
            status = exc.code
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            exc.close()
            location = headers.get("location")
            if 300 <= status < 400 and location:
                current, problem = next_hop(chain, current, location)
                if problem is not None:
                    return failed(problem, status)
                continue
            return FetchedFile(
                url, status, headers=headers, redirects=tuple(chain), cache=CacheUse.NONE
            )
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            return failed(FetchError.TIMEOUT if watchdog.expired else FetchError(_error_code(exc)))
        except ValueError:
            return failed(FetchError.INVALID_URL)
        with response:
            status = response.status
            headers = {k.lower(): v for k, v in response.headers.items()}
            try:
                body = _read_capped(response, max_bytes, deadline)
                if watchdog.expired:  # the watchdog cut it: a partial body
                    raise _Deadline
            except _Deadline:
                return failed(FetchError.TIMEOUT)
            except (OSError, http.client.HTTPException) as exc:
                expired = watchdog.expired
                return failed(FetchError.TIMEOUT if expired else FetchError(_error_code(exc)))
        if len(body) > max_bytes:
            return failed(FetchError.TOO_LARGE, status)
        return FetchedFile(
            url, status, body=body, headers=headers, redirects=tuple(chain), cache=CacheUse.NONE
        )


def proxy_for(url: str, proxy: str | None) -> str | None:
    """The proxy a fetch of *url* goes through: *proxy* when given, else the
    ``http_proxy`` / ``https_proxy`` environment (``no_proxy`` honoured), like the crawl."""
    if proxy:
        return proxy
    parts = urlsplit(url)
    chosen = urllib.request.getproxies().get(parts.scheme)
    if chosen and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return chosen or None
