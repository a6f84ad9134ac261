"""Keep a test or demo process on loopback, whatever any component tries.

The demo's and the test suite's promise is that they touch no network but
127.0.0.1. The loopback server keeps its side of that promise, but a bug
elsewhere — a robots.txt fetch that loses the request's proxy, a library that
downloads a public-suffix list on first use, a proxy taken from the
environment — would quietly reach the real web. So, while
:func:`loopback_only` is active, name lookups and connections to anything but
a loopback address are refused and remembered; the demo and the tests' autouse
fixture report each refusal and fail, naming the host.

This patches the :mod:`socket` module process-wide: it is for a demo or a
test process, never for a library.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["loopback_only"]

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse non-loopback lookups and connections; yield the list of refused targets.

    Also hides ``*_proxy`` environment variables, which Scrapy's
    ``HttpProxyMiddleware`` would otherwise apply to requests that carry no
    ``meta["proxy"]`` of their own.
    """
    refused: list[str] = []
    lock = threading.Lock()

    def refuse(what: str) -> None:
        with lock:
            refused.append(what)

    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            refuse(f"name lookup of {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"loopback-only process: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not _is_loopback(host):
            refuse(f"name lookup of {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"loopback-only process: {host}")
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        if not _is_loopback(host):
            refuse(f"name lookup of {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"loopback-only process: {host}")
        return real_gethostbyname_ex(host)

    def _allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # Unix sockets, socketpairs: local by construction
        return _is_loopback(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        if not _allowed(self, address):
            refuse(f"connection to {address[0]}")
            raise ConnectionRefusedError(errno.ECONNREFUSED, "loopback-only process")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _allowed(self, address):
            refuse(f"connection to {address[0]}")
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    saved_env = {
        name: os.environ.pop(name) for name in list(os.environ) if name.lower() in _PROXY_VARIABLES
    }
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield refused
    finally:
        socket.getaddrinfo = real_getaddrinfo
        socket.gethostbyname = real_gethostbyname
        socket.gethostbyname_ex = real_gethostbyname_ex
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        os.environ.update(saved_env)
