"""A real HTTP server on loopback with a route table per test.

It answers both origin-form requests (``GET /x``, routed by the ``Host``
header) and absolute-form requests (``GET http://www.youtube.com/x``, as a
forward proxy receives them), so tests can crawl any host name through
Scrapy's proxy support without leaving 127.0.0.1. It never connects
anywhere itself. Every request it receives is recorded, in order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    location: str | None = None


@dataclass(frozen=True)
class Received:
    host: str
    path: str
    via_proxy: bool
    headers: dict[str, str]


class LoopbackServer:
    """``routes[(host, path)] = Route(...)``; unknown paths answer 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.received: list[Received] = []
        self.tunnels: list[str] = []  # CONNECT targets, "host:port"
        self.on_request: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._handle(self)

            do_HEAD = do_GET

            def do_CONNECT(self) -> None:  # noqa: N802
                # A tunnel to "any" host ends here: the requests sent through it
                # follow on this connection and are routed by their Host header.
                # (Playwright's own HTTP client, behind route.fetch, tunnels even
                # plain-http requests through a proxy.)
                with server._lock:
                    server.tunnels.append(self.path)
                self.send_response(200, "Connection established")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, host: str, path: str, **kwargs: object) -> None:
        self.routes[(host, path)] = Route(**kwargs)  # type: ignore[arg-type]

    def paths(self, host: str) -> list[str]:
        with self._lock:
            return [r.path for r in self.received if r.host == host]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        target = handler.path
        via_proxy = target.startswith(("http://", "https://"))
        if via_proxy:
            parts = urlsplit(target)
            host = parts.hostname or ""
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
        else:
            host = (handler.headers.get("Host") or "").split(":")[0]
            path = target
        received = Received(host, path, via_proxy, dict(handler.headers.items()))
        with self._lock:
            self.received.append(received)
        if self.on_request is not None:
            self.on_request(received)
        route = self.routes.get((host, path)) or self.routes.get((host, path.split("?")[0]))
        if route is None:
            route = Route(status=404, body=b"not found")
        if route.delay:
            time.sleep(route.delay)
        body = route.body.encode() if isinstance(route.body, str) else route.body
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.location:
            handler.send_header("Location", route.location)
        if "Content-Type" not in route.headers:
            handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler.wfile.write(body)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
