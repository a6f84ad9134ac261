"""The CLI's urllib fetcher against a real loopback server (ThreadingHTTPServer, port 0)."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler_compliance.cli._fetch import fetch_robots

RULES = b"User-agent: *\nDisallow: /private\n"


@dataclass
class Route:
    status: int = 200
    body: bytes = RULES
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    drip: float = 0.0  # between body bytes
    header_drip: float = 0.0  # between the octets of the status line and headers


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, str]] = []  # (path, user-agent)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.seen.append((self.path, self.headers.get("User-Agent", "")))
                route = server.routes.get(self.path, Route(status=404, body=b"not found"))
                time.sleep(route.delay)
                if route.header_drip:
                    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
                    with contextlib.suppress(OSError):
                        for i in range(len(head)):
                            self.wfile.write(head[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.header_drip)
                    return
                try:
                    self.send_response(route.status)
                    for key, value in route.headers.items():
                        self.send_header(key, value.replace("{base}", server.base))
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if route.drip:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: that is the size cap working

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        self.routes[path] = Route(status=status, body=b"", headers={"Location": target})


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def fetch(server: Server, path: str = "/robots.txt", **kwargs):  # noqa: ANN201
    kwargs.setdefault("user_agent", "TestBot/1.0")
    kwargs.setdefault("timeout", 3.0)
    return fetch_robots(server.base + path, **kwargs)


def test_200_parses_and_sends_user_agent(server: Server) -> None:
    server.routes["/robots.txt"] = Route()
    result = fetch(server)
    assert (result.kind, result.status) == ("rules", "200")
    assert not result.allows(server.base + "/private/x", "TestBot")
    assert server.seen == [("/robots.txt", "TestBot/1.0")]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, "allow-all"),
        (403, "allow-all"),
        (429, "disallow-all"),
        (500, "disallow-all"),
        (503, "disallow-all"),
    ],
)
def test_statuses(server: Server, status: int, kind: str) -> None:
    server.routes["/robots.txt"] = Route(status=status, body=b"<html>error</html>")
    result = fetch(server)
    assert (result.kind, result.status) == (kind, str(status))


def test_redirects_are_followed_up_to_five(server: Server) -> None:
    for hop in range(5):
        server.redirect(f"/r{hop}", f"/r{hop + 1}" if hop < 4 else "/final.txt")
    server.routes["/final.txt"] = Route()
    result = fetch(server, "/r0")
    assert result.kind == "rules"
    assert [p for p, _ in server.seen] == ["/r0", "/r1", "/r2", "/r3", "/r4", "/final.txt"]


def test_six_redirects_are_too_many(server: Server) -> None:
    for hop in range(6):
        server.redirect(f"/r{hop}", f"{{base}}/r{hop + 1}")
    server.routes["/r6"] = Route()
    result = fetch(server, "/r0")
    assert (result.kind, result.status) == ("disallow-all", "too-many-redirects")
    assert "/r6" not in [p for p, _ in server.seen]


def test_redirect_loop(server: Server) -> None:
    server.redirect("/a", "/b", 302)
    server.redirect("/b", "/a", 307)
    result = fetch(server, "/a")
    assert (result.kind, result.status) == ("disallow-all", "redirect-loop")
    assert [p for p, _ in server.seen] == ["/a", "/b"]


def test_each_hop_passes_the_registry_check(server: Server) -> None:
    server.redirect("/robots.txt", "/elsewhere.txt")
    server.routes["/elsewhere.txt"] = Route()

    def allow_url(url: str) -> str | None:
        return "notice N-1 covers it" if url.endswith("/elsewhere.txt") else None

    result = fetch(server, allow_url=allow_url)
    assert (result.kind, result.status) == ("disallow-all", "blocked")
    assert "notice N-1 covers it" in result.reason
    assert [p for p, _ in server.seen] == ["/robots.txt"]  # the denied hop was not contacted


def test_first_url_blocked_means_no_request(server: Server) -> None:
    result = fetch(server, allow_url=lambda url: "blocked host")
    assert result.kind == "disallow-all" and server.seen == []


def test_slow_server_times_out(server: Server) -> None:
    server.routes["/robots.txt"] = Route(delay=2.0)
    started = time.monotonic()
    result = fetch(server, timeout=0.3)
    assert (result.kind, result.status) == ("disallow-all", "timeout")
    assert time.monotonic() - started < 1.5


def test_dripping_body_hits_the_deadline(server: Server) -> None:
    server.routes["/robots.txt"] = Route(body=RULES * 10, drip=0.05)
    result = fetch(server, timeout=0.5)
    assert (result.kind, result.status) == ("disallow-all", "timeout")


def test_dripping_headers_hit_the_deadline(server: Server) -> None:
    # One header octet every 0.05 s never trips a per-read socket timeout of 0.5 s:
    # only a deadline over the whole fetch ends it.
    server.routes["/robots.txt"] = Route(header_drip=0.05)
    started = time.monotonic()
    result = fetch(server, timeout=0.5)
    assert (result.kind, result.status) == ("disallow-all", "timeout")
    assert time.monotonic() - started < 5.0  # the drip alone would take 11 s


def test_a_deadline_inside_a_redirect_chain_is_a_timeout(server: Server) -> None:
    server.redirect("/robots.txt", "/slow")
    server.routes["/slow"] = Route(header_drip=0.05)
    started = time.monotonic()
    result = fetch(server, timeout=0.5)
    assert (result.kind, result.status) == ("disallow-all", "timeout")
    assert time.monotonic() - started < 5.0  # the drip alone would take 11 s


def test_huge_body_is_capped_not_allow_all(server: Server) -> None:
    body = RULES + b"# filler\n" * 700_000 + b"Disallow: /late\n"  # ~6 MB
    server.routes["/robots.txt"] = Route(body=body)
    result = fetch(server, max_bytes=64 * 1024)
    assert result.kind == "rules" and result.robots.truncated
    assert not result.allows("/private", "x") and result.allows("/late", "x")


@pytest.mark.parametrize("headers", [{"Content-Encoding": "gzip"}, {}])
def test_gzip_with_or_without_header(server: Server, headers: dict[str, str]) -> None:
    server.routes["/robots.txt"] = Route(body=gzip.compress(RULES), headers=headers)
    result = fetch(server)
    assert result.kind == "rules"
    assert not result.allows("/private", "x")


def test_connection_refused_and_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    refused = fetch_robots("http://127.0.0.1:1/robots.txt", user_agent="T", timeout=2)
    assert (refused.kind, refused.status) == ("disallow-all", "connection-error")

    def no_such_name(host: object, *args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)  # offline: no real lookup
    unknown = fetch_robots("http://no-such-host.invalid/robots.txt", user_agent="T", timeout=2)
    assert (unknown.kind, unknown.status) == ("disallow-all", "dns-error")


def test_non_http_redirect_target_is_refused(server: Server) -> None:
    server.redirect("/robots.txt", "file:///etc/passwd")
    result = fetch(server)
    assert (result.kind, result.status) == ("disallow-all", "invalid-url")
