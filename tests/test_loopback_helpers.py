"""The package-private test helpers: one loopback server, one network guard."""

from __future__ import annotations

import http.client
import socket

import pytest

from crawler_compliance._testing.netguard import loopback_only
from tests.loopback import LoopbackServer, Route


def request(server: LoopbackServer, method: str, target: str, host: str = "") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, target, headers={"Host": host} if host else {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_proxy_and_origin_form_requests_are_routed_and_recorded() -> None:
    with LoopbackServer(unknown_host_status=502) as server:
        server.route("news.example", "/a", body="a")
        server.routes[("news.example", "/b")] = Route(status=301, location="/a")
        assert request(server, "GET", "http://news.example/a?x=1") == 200
        assert request(server, "GET", "/b", host="NEWS.example.:80") == 301
        assert request(server, "GET", "/nope", host="news.example") == 404
        assert request(server, "GET", "http://elsewhere.example/") == 502
        assert request(server, "CONNECT", "www.youtube.com:443") == 502
    assert server.paths("news.example") == ["/a?x=1", "/b", "/nope"]
    assert [r.via_proxy for r in server.received[:2]] == [True, False]
    assert server.counts()["www.youtube.com"] == 1
    assert server.received[-1].method == "CONNECT"


def test_on_request_answer_is_kept_with_the_request() -> None:
    with LoopbackServer() as server:
        server.on_request = lambda received: received.path == "/yes"
        request(server, "GET", "/yes", host="h.example")
        request(server, "GET", "/no", host="h.example")
    assert [r.answer for r in server.received] == [True, False]


def test_the_guard_refuses_and_names_non_loopback_traffic() -> None:
    with loopback_only() as refused:
        with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
            sock.connect(("192.0.2.1", 80))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 80)
        with LoopbackServer() as server:  # loopback stays reachable
            assert request(server, "GET", "/", host="h.example") == 404
    assert refused == ["connection to 192.0.2.1", "name lookup of example.com"]
