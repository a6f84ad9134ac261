"""Where a request really goes: its URL's host, the ``Host`` header, the proxy.

A server routes on the ``Host`` header, a forward proxy on the request
target; either can be made to name another site than the URL. Every such
name is decided in full, so nothing about a request lets it reach a host
that was not decided.

``Host`` is parsed as RFC 9110 §7.2 defines it — ``uri-host [ ":" port ]``
and nothing else. URL rules do not apply: ``www.youtube.com:80@open.example``
is not "userinfo then host" in a header; servers that route on the text
before ``:`` serve YouTube. Anything outside the grammar is ambiguous, and
an ambiguous route is denied.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from crawler_compliance._hosts import AmbiguousURL, proxy_hostport

__all__ = ["Route", "parse_host_header", "proxy_host"]

# RFC 3986 reg-name restricted to what DNS names can be (letters, digits,
# hyphen, dots): percent-encoding and sub-delims are legal in the grammar but
# no server agrees on what they mean in a Host header, so they are ambiguous.
_REG_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
_MAX_HOST = 253 + 1 + 5


def parse_host_header(value: str) -> tuple[str, int | None]:
    """``(host, port)`` of a ``Host`` header value, host lower-cased, no trailing dot.

    Raises :class:`AmbiguousURL` for anything RFC 9110 §7.2 does not allow
    (userinfo, paths, spaces, several values, empty, a bad port).
    """
    text = value.strip(" \t")
    if not text or len(text) > _MAX_HOST + 2:
        raise AmbiguousURL(f"Host header {value[:80]!r} is empty or too long")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AmbiguousURL(f"Host header {value[:80]!r}: unclosed IPv6 literal")
        literal, rest = text[1:end], text[end + 1 :]
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise AmbiguousURL(f"Host header {value[:80]!r}: not an IPv6 literal") from None
        host = f"[{literal.lower()}]"
    else:
        host, sep, port_text = text.partition(":")
        rest = f":{port_text}" if sep else ""
        if not _REG_NAME.match(host):
            raise AmbiguousURL(
                f"Host header {value[:80]!r} is not 'host[:port]' (RFC 9110 §7.2): "
                "servers could route it to more than one site"
            )
        host = host.lower().rstrip(".")
    port = None
    if rest:
        if not rest.startswith(":") or not _PORT.match(rest[1:]) or int(rest[1:]) > 65535:
            raise AmbiguousURL(f"Host header {value[:80]!r} has an invalid port")
        port = int(rest[1:])
    return host, port


UNREADABLE_PROXY = "[unreadable proxy]"
"""What a proxy setting nobody can read stands as: not a host, so it denies."""


@functools.lru_cache(maxsize=256)
def proxy_host(proxy: str) -> str:
    """``http://user:pw@proxy:3128`` -> ``proxy:3128``: credentials never leave here.

    Read as Scrapy reads ``meta["proxy"]`` (:func:`_hosts.proxy_hostport`).
    A setting that cannot be read gives :data:`UNREADABLE_PROXY`, which the
    registry check refuses as a host, so such a request is denied.
    """
    try:
        return proxy_hostport(proxy).lower()
    except AmbiguousURL:
        return UNREADABLE_PROXY


@dataclass(frozen=True)
class Route:
    """What, besides the URL, names where a request goes.

    ``host_headers``: every ``Host`` header value the request carries (more
    than one is ambiguous). ``proxy``: the proxy's ``host:port``, credentials
    removed. ``user_agents``: every ``User-Agent`` value.
    """

    host_headers: tuple[str, ...] = ()
    proxy: str | None = None
    user_agents: tuple[str, ...] = ()

    def vhost(self) -> tuple[str, int | None] | None:
        """The ``Host`` header's (host, port), ``None`` without one; raises when ambiguous."""
        if not self.host_headers:
            return None
        if len(self.host_headers) > 1:
            raise AmbiguousURL(
                f"{len(self.host_headers)} Host headers: servers disagree on which one counts"
            )
        return parse_host_header(self.host_headers[0])
