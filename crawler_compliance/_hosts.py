"""The canonical host of a URL: the host the downloader will really connect to.

Matching a cease-and-desist notice on anything but the canonical host is a
bypass waiting to happen: ``WWW.YouTube.COM.``, ``%77ww.youtube.com``,
``ｙｏｕｔｕｂｅ.com`` and ``user@youtube.com:80`` all reach the same server.
We normalise the way Scrapy does (``w3lib.url.safe_url_string``, which every
``scrapy.Request`` applies to its URL, then ``urllib.parse``) and add the
steps a resolver or a forward proxy would take (percent-decoding the host,
dropping the root dot, the WHATWG numeric IPv4 forms).

Where two reasonable parsers could disagree about the host (a backslash, two
``@``, a port that is not a number, a control character), the URL is
*ambiguous* and denied: we never allow a request whose destination we are
unsure of.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from w3lib.url import safe_url_string

from crawler_compliance._frozen import new_object, set_attribute

__all__ = [
    "AmbiguousURL",
    "CanonicalURL",
    "UnfetchableURL",
    "canonicalize",
    "host_suffixes",
    "path_candidates",
    "proxy_hostport",
    "resolved_path",
]

FETCHABLE_SCHEMES = {"http": 80, "https": 443}

# A host name label as resolvers accept it; "_" appears in real host names.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IPV4_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class UnfetchableURL(ValueError):
    """The string is not a URL this crawler could fetch (no host, other scheme...)."""

    kind = "unfetchable"


class AmbiguousURL(UnfetchableURL):
    """Parsers could disagree about the host: denied, never guessed."""

    kind = "ambiguous"


@dataclass(frozen=True)
class CanonicalURL:
    """A URL reduced to what decides where it goes.

    ``url`` is the URL as Scrapy would send it (``safe_url_string``);
    ``host`` is lower-case ASCII (IDNA), without root dot, userinfo or port;
    ``port`` is explicit or the scheme's default.
    """

    url: str
    scheme: str
    host: str
    port: int
    is_ip: bool
    path: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def origin_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = FETCHABLE_SCHEMES.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}"

    @property
    def robots_url(self) -> str:
        return self.origin_url + "/robots.txt"


def _authority(url: str) -> str | None:
    """The raw text between ``//`` and the next ``/``, ``?`` or ``#``."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return None
    rest = url[scheme_end + 3 :]
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if 0 <= pos < end:
            end = pos
    return rest[:end]


def _parse_ipv4(host: str) -> str | None:
    """WHATWG IPv4 parsing: ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` are 127.0.0.1.

    Returns the dotted quad, ``None`` when the host is not numeric, and raises
    :class:`AmbiguousURL` when it looks numeric but is not a valid address
    (resolvers and proxies disagree on such hosts).
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not parts or not _IPV4_PART.match(parts[-1]):
        return None
    if len(parts) > 4 or not all(_IPV4_PART.match(p) for p in parts):
        raise AmbiguousURL(f"host {host!r} looks like an IPv4 address but is not a valid one")
    numbers = []
    for part in parts:
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                raise AmbiguousURL(f"host {host!r} mixes octal and decimal notation")
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise AmbiguousURL(f"host {host!r} is out of the IPv4 range")
    value = last
    for index, number in enumerate(head):
        value += number * 256 ** (3 - index)
    return str(ipaddress.IPv4Address(value))


def _canonical_host(raw_host: str, bracketed: bool) -> tuple[str, bool]:
    if bracketed:
        if "%" in raw_host:
            raise AmbiguousURL(f"IPv6 host {raw_host!r} carries a zone identifier")
        try:
            address = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise AmbiguousURL(f"{raw_host!r} is not a valid IPv6 address") from None
        # ::ffff:1.2.3.4 reaches 1.2.3.4: match it as the IPv4 address it is.
        mapped = address.ipv4_mapped
        return (str(mapped) if mapped else str(address)), True
    try:
        host = unquote(raw_host, errors="strict") if "%" in raw_host else raw_host
    except UnicodeDecodeError:
        raise AmbiguousURL(f"host {raw_host!r} percent-decodes to invalid UTF-8") from None
    if _CONTROL.search(host) or any(c in host for c in "/\\@:?#[] "):
        raise AmbiguousURL(f"host {raw_host!r} decodes to characters a host cannot hold")
    if host.endswith("."):
        # A single root dot names the same host; more would be an empty label.
        host = host[:-1]
    if not host:
        raise UnfetchableURL("the URL has no host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AmbiguousURL(f"host {raw_host!r} is not a valid internationalised name") from None
    ipv4 = _parse_ipv4(host)
    if ipv4 is not None:
        return ipv4, True
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise AmbiguousURL(f"host {raw_host!r} is not a valid host name")
    return host, False


@functools.lru_cache(maxsize=8192)
def _canonical_authority(scheme: str, netloc: str) -> tuple[str, int, bool]:
    """(host, port, is_ip) of one authority; cached, crawls revisit few hosts."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}/")
        port = parts.port
        hostname = parts.hostname
    except (ValueError, UnicodeError) as exc:
        raise AmbiguousURL(f"the URL cannot be parsed unambiguously: {exc}") from None
    if not netloc or hostname is None:
        raise UnfetchableURL("the URL has no host")
    netloc_host = netloc.rpartition("@")[2]
    host, is_ip = _canonical_host(hostname, netloc_host.startswith("["))
    if port is None:
        if netloc_host.endswith(":"):
            raise AmbiguousURL("an empty port after ':'")
        port = FETCHABLE_SCHEMES[scheme]
    elif port == 0:
        raise AmbiguousURL("port 0 is not a port a server listens on")
    return host, port, is_ip


def canonicalize(url: str, *, scrapy_safe: bool = False) -> CanonicalURL:
    """Return the canonical form of *url* or raise :class:`UnfetchableURL`.

    Raises :class:`AmbiguousURL` (a subclass) when parsers could disagree on
    the host. Never raises anything else for any input string.
    ``scrapy_safe`` says *url* is a ``scrapy.Request.url``, which Scrapy has
    already passed through ``safe_url_string``: it is used as it is, so the
    decision is made on exactly the string the downloader will use.
    """
    if not isinstance(url, str):
        raise UnfetchableURL(f"expected a URL string, got {type(url).__name__}")
    stripped = url.strip(" \t\r\n\x0b\x0c")
    # Printable ASCII (the usual URL, two C-level tests) holds no control character.
    if not (stripped.isascii() and stripped.isprintable()) and _CONTROL.search(stripped):
        raise AmbiguousURL("the URL contains a control character")
    # An http(s) URL's authority is its netloc, split once: the one match of
    # _split's, which every URL starting "http://" or "https://" makes.
    parts = _HTTP_PARTS(stripped)
    split = None if parts is None else (("https" if parts[1] else "http"), parts[2], parts[3])
    authority = split[1] if split is not None else _authority(stripped)
    if authority is not None:
        if "\\" in authority:
            raise AmbiguousURL("a backslash in the host part: parsers disagree on the host")
        if authority.count("@") > 1:
            raise AmbiguousURL("more than one '@' before the host: parsers disagree on the host")
    try:
        if scrapy_safe:
            safe = stripped
            scheme, netloc, path = split if split is not None else _split(safe)
        else:
            safe = safe_url_string(stripped)
            scheme, netloc, path = _split(safe)
    except (ValueError, UnicodeError) as exc:
        raise AmbiguousURL(f"the URL cannot be parsed unambiguously: {exc}") from None
    if scheme not in FETCHABLE_SCHEMES:
        if not scheme:
            raise UnfetchableURL("not an absolute URL (no scheme)")
        raise UnfetchableURL(f"scheme {scheme!r} is not fetched by this crawler (http, https)")
    host, port, is_ip = _canonical_authority(scheme, netloc)
    canonical = new_object(CanonicalURL)  # filled(CanonicalURL, {...}), in line
    set_attribute(
        canonical,
        "__dict__",
        {
            "url": safe,
            "scheme": scheme,
            "host": host,
            "port": port,
            "is_ip": is_ip,
            "path": path or "/",
        },
    )
    return canonical


def _split(url: str) -> tuple[str, str, str]:
    """``urlsplit(url)``'s lower-cased scheme, netloc and path.

    For a URL that starts ``http://`` or ``https://`` (and holds no control
    character, which :func:`canonicalize` refused already) the split is
    worked out directly, in one match: urlsplit would take the same scheme,
    end the netloc at the first ``/``, ``?`` or ``#`` and the path at the
    first ``?`` or ``#``. Its netloc checks (brackets, NFKC) run on the netloc
    in :func:`_canonical_authority`. Any other URL goes through urlsplit.
    """
    parts = _HTTP_PARTS(url)
    if parts is None:
        split = urlsplit(url)
        return split.scheme.lower(), split.netloc, split.path
    return ("https" if parts[1] else "http"), parts[2], parts[3]


_HTTP_PARTS = re.compile(r"http(s?)://([^/?#]*)([^?#]*)").match


_DOT_SEGMENT = re.compile(r"%2e", re.IGNORECASE)
# What stays raw when a decoded path is written back as a URL path: RFC 3986
# pchar and "/". A decoded "?", "#" or "%" is data in the path and re-escaped.
_PATH_SAFE = "/:@!$&'()*+,;=~-._"
# Decoding passes a server chain may apply before resolving dot segments: none
# (RFC 3986: ``%2E`` *is* ``.``), once (nginx, Apache, IIS, Python's
# http.server, Node's static servers), twice (a decoding proxy in front of a
# decoding server; IIS's historic double decode).
_MAX_DECODES = 2
# How many candidates a path can have: (decodes + 1) x (strict, lenient) + raw.
MAX_PATH_CANDIDATES = (_MAX_DECODES + 1) * 2 + 1


def resolved_path(path: str) -> str:
    """The path a server will serve: dot segments removed, empty segments merged.

    ``/public/../private/x``, ``/public/%2e%2e/private/x`` and ``//private/x``
    all reach ``/private/x`` on common servers, so rules that name
    ``/private/`` must see them as such (RFC 3986 §5.2.4, plus the ``//``
    merging nginx and Apache do). Returns *path* itself when nothing changes.
    See :func:`path_candidates` for the paths servers that decode first reach.
    """
    if "." not in path and "%" not in path and "//" not in path:
        return path
    return _remove_dot_segments(_DOT_SEGMENT.sub(".", path), lenient=False)


def _remove_dot_segments(path: str, *, lenient: bool) -> str:
    """RFC 3986 §5.2.4 plus ``//`` merging; *lenient* also reads ``\\`` as ``/``
    (IIS, Node on Windows) and ``..;x`` as ``..`` (Tomcat, Jetty path parameters)."""
    if lenient:
        path = path.replace("\\", "/")
    output: list[str] = []
    segments = path.split("/")
    final = len(segments) - 1
    for index, segment in enumerate(segments):
        last = index == final
        if lenient and ";" in segment:
            bare = segment.partition(";")[0]
            if bare in (".", ".."):
                segment = bare
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        elif segment == "" and index > 0 and not last:
            continue
        else:
            output.append(segment)
    result = "/".join(output)
    if not result.startswith("/"):
        result = "/" + result
    return result


_IIS_ESCAPE = re.compile(r"%[uU]00([0-7][0-9A-Fa-f])")


def _decode_once(path: str) -> str:
    """Percent-decode every escape, byte for byte (Latin-1 keeps octets as characters).

    IIS's ``%u002e`` form of an ASCII character is decoded too.
    """
    if "%u" in path or "%U" in path:
        path = _IIS_ESCAPE.sub(r"%\1", path)
    raw = path.encode("latin-1", "backslashreplace") if not path.isascii() else path.encode()
    return unquote_to_bytes(raw).decode("latin-1")


def _encode_path(decoded: str) -> str:
    """A decoded path written back as URL path text (octets as escapes)."""
    return quote(decoded, safe=_PATH_SAFE, encoding="latin-1", errors="backslashreplace")


def path_candidates(path: str) -> tuple[str, ...]:
    """Every path a common server could resolve the request path *path* to.

    The path as sent comes first, then each distinct result of decoding it
    zero, one or two times (``%2e%2e%2f``, ``..%2F``, ``..%5C``, ``%252e%252e``,
    any hex case) and removing dot segments, once strictly (RFC 3986, ``//``
    merged) and once leniently (``\\`` is ``/``, ``..;x`` is ``..``). Results are
    in URL path form (decoded octets that need it are percent-encoded again), so
    they compare with robots.txt rules and policy paths like any path.

    robots.txt must allow every candidate, and a permission's paths must cover
    every candidate. At most :data:`MAX_PATH_CANDIDATES`; time linear in *path*.
    *path* is the path alone (no query).
    """
    if "/." not in path and "%" not in path and "\\" not in path and "//" not in path:
        return (path,)
    found = dict.fromkeys((path,))
    layer = path
    for depth in range(_MAX_DECODES + 1):
        if depth:
            if "%" not in layer:
                break
            layer = _decode_once(layer)
        source = _DOT_SEGMENT.sub(".", layer) if depth == 0 else layer
        for lenient in (False, True):
            resolved = _remove_dot_segments(source, lenient=lenient)
            found[_encode_path(resolved) if depth else resolved] = None
    return tuple(found)


def host_suffixes(host: str) -> list[str]:
    """``a.b.example.com`` -> itself, ``b.example.com``, ``example.com``, ``com``.

    Longest first: a domain entry covers every host under it, and the most
    specific entry speaks first.
    """
    labels = host.split(".")
    return [".".join(labels[index:]) for index in range(len(labels))]


@functools.lru_cache(maxsize=256)
def proxy_hostport(proxy: str) -> str:
    """The ``host:port`` a proxy setting connects to, never its credentials.

    Read exactly as Scrapy's ``HttpProxyMiddleware`` reads ``meta["proxy"]``
    (``urllib.request``'s proxy parser): the authority runs to the first ``/``
    after the ``@``, so ``http://user:pa#ss?x@proxy:3128`` is ``proxy:3128``
    (``urlsplit`` would stop at the ``#`` and return the password's start as
    the host). Raises :class:`AmbiguousURL` when the setting cannot be read.
    """
    from urllib.request import _parse_proxy  # type: ignore[attr-defined]

    try:
        hostport = _parse_proxy(proxy)[3]
    except (ValueError, TypeError, AttributeError):
        raise AmbiguousURL("the proxy setting is not a URL or host:port") from None
    if not isinstance(hostport, str) or not hostport or "@" in hostport:
        raise AmbiguousURL("the proxy setting names no single host")
    return hostport
