"""A real HTTP server on loopback that answers for many host names, from a route table.

It answers both origin-form requests (``GET /x``, routed by the ``Host``
header) and absolute-form requests (``GET http://www.youtube.com/x``, as a
forward proxy receives them), so a crawl can request any host name through
Scrapy's proxy support without leaving 127.0.0.1. ``CONNECT`` (what an
``https://`` URL sends to a proxy) is recorded and refused: the server never
opens a connection anywhere itself. Every request it receives is recorded, in
arrival order, before it is answered.

One server for the test suite (``tests/loopback.py`` re-exports it) and the
demo (``examples/standin_web.py`` builds its stand-in web on it).

Shutdown is immediate: ``serve_forever`` is woken by a connection to itself
instead of waiting out its poll interval (the standard 0.5 s, paid once per
server, made the crawl tests spend more time stopping servers than crawling).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["LoopbackServer", "Received", "Route"]


@dataclass
class Route:
    """One canned response."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    location: str | None = None
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Received:
    """A request as the server received it.

    ``path`` is the request target's path and query; ``answer`` is what the
    ``on_request`` hook returned while the request waited for its response
    (``None`` without a hook).
    """

    host: str
    path: str
    via_proxy: bool
    headers: dict[str, str]
    method: str = "GET"
    answer: object = None

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, like a real proxy: Scrapy pools its connections to us.
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.owner._handle(self)

    def do_HEAD(self) -> None:  # noqa: N802
        self.server.owner._handle(self)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.owner._handle(self)

    def do_CONNECT(self) -> None:  # noqa: N802
        # "CONNECT host:443" is a contact attempt with that host: recorded, never tunnelled.
        self.server.owner._connect(self)


class LoopbackServer:
    """``routes[(host, path)] = Route(...)``; unknown paths answer 404.

    ``unknown_host_status`` (e.g. 502) answers hosts that have no route at
    all, as a proxy that cannot reach them would. ``on_request(received)`` is
    called from the server's worker thread before each answer.
    """

    def __init__(self, *, unknown_host_status: int | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.received: list[Received] = []
        self.tunnels: list[str] = []  # CONNECT targets, "host:port"
        self.on_request: Callable[[Received], object] | None = None
        self.unknown_host_status = unknown_host_status
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="loopback-server", daemon=True
        )
        self._stopped = False

    # -- addresses -------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- routes and what was received -----------------------------------------------

    def route(self, host: str, path: str, **kwargs: object) -> None:
        self.routes[(host, path)] = Route(**kwargs)  # type: ignore[arg-type]

    def paths(self, host: str) -> list[str]:
        with self._lock:
            return [r.path for r in self.received if r.host == host]

    def counts(self) -> Counter[str]:
        """Requests received per host (robots.txt fetches and CONNECTs included)."""
        with self._lock:
            return Counter(r.host for r in self.received)

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _target(self, handler: BaseHTTPRequestHandler) -> tuple[str, str, bool]:
        """(host, path-with-query, via proxy) from an absolute-form target, else ``Host``."""
        target = handler.path
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            return (parts.hostname or "").rstrip("."), path, True
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0]
        return host.lower().rstrip("."), target or "/", False

    def _lookup(self, host: str, path: str) -> Route:
        route = self.routes.get((host, path)) or self.routes.get((host, path.split("?")[0]))
        if route is not None:
            return route
        if self.unknown_host_status is not None and not any(h == host for h, _ in self.routes):
            return Route(status=self.unknown_host_status, body=f"no site {host!r} here\n")
        return Route(status=404, body=b"not found")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        host, path, via_proxy = self._target(handler)
        headers = dict(handler.headers.items())
        received = Received(host, path, via_proxy, headers, handler.command)
        if self.on_request is not None:
            answer = self.on_request(received)
            received = Received(host, path, via_proxy, headers, handler.command, answer)
        self._record(received)
        route = self._lookup(host, path)
        if route.delay:
            time.sleep(route.delay)
        self._reply(handler, route)

    def _connect(self, handler: BaseHTTPRequestHandler) -> None:
        host, _, port = handler.path.rpartition(":")
        host = host.strip("[]").lower().rstrip(".")
        self._record(Received(host, handler.path, True, dict(handler.headers.items()), "CONNECT"))
        with self._lock:
            self.tunnels.append(handler.path)
        if port == "80":
            # Plain HTTP through a tunnel (Playwright's own client, behind the
            # browser hook's route.fetch, asks so): the requests that follow on
            # this connection are answered here, routed by their Host header.
            handler.send_response(200, "Connection established")
            handler.end_headers()
            return
        self._reply(handler, Route(status=502, body="this server does not tunnel TLS\n"))
        handler.close_connection = True

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, route: Route) -> None:
        body = route.body.encode() if isinstance(route.body, str) else route.body
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.location:
            handler.send_header("Location", route.location)
        if "Content-Type" not in route.headers:
            handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler.wfile.write(body)

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: wake ``serve_forever`` rather than wait out its poll interval."""
        if self._stopped:
            return
        self._stopped = True
        if self.thread.is_alive():
            stopper = threading.Thread(target=self.httpd.shutdown, daemon=True)
            stopper.start()
            # shutdown() sets its flag, then waits for the loop: a connection makes
            # the loop's select() return now, and the loop sees the flag.
            while stopper.is_alive():
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.port), timeout=1),
                ):
                    pass
                stopper.join(0.01)
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
