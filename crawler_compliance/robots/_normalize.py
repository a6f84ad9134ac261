"""One normal form for paths and rule patterns, so that comparing them is plain string work.

RFC 9309 §2.2.2 asks that a rule and a URL be compared after percent-encoding
both in the same way. We pick the RFC 3986 §6.2.2 normal form:

* escapes of *unreserved* characters (``A-Z a-z 0-9 - . _ ~``) are decoded,
  because ``/%7Euser`` and ``/~user`` name the same resource;
* escapes of every other octet are kept, with upper-case hex, because a
  reserved character and its escape may mean different things (``/a%2Fb`` is
  one path segment, ``/a/b`` two) and because RFC 9309 §2.2.3 says ``%2A`` and
  ``%24`` in a rule are the literal characters, not the wildcard and anchor;
* characters that may not appear raw in a URL (space, ``"``, ``<``, non-ASCII,
  control characters, a ``%`` not followed by two hex digits) are encoded,
  non-ASCII as UTF-8 (RFC 9309 §2.2.2). Bytes that were not valid UTF-8 in a
  robots.txt body reach us as surrogate escapes and are encoded as the
  original octet, so a Latin-1 rule still matches a Latin-1 URL.

The result is pure ASCII, so its length in characters is its length in octets,
which is what "longest match" counts (RFC 9309 §2.2.2).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Octets that stay raw: unreserved plus RFC 3986 reserved characters.
_RAW_OK = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;="
)
_HEX = frozenset(b"0123456789ABCDEFabcdef")

# Text that is already in normal form (no '%', nothing to encode): the common case.
_ALREADY_NORMAL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*").fullmatch

# A URL whose path and query are already normal: the hot path of allows().
_SIMPLE_URL = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#\\]*"
    r"(/[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]*)?(?:#.*)?",
    re.DOTALL,
).fullmatch


def normalize(text: str) -> str:
    """Return ``text`` in the normal form described in the module docstring."""
    if _ALREADY_NORMAL(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out: list[str] = []
    append = out.append
    i = 0
    n = len(raw)
    while i < n:
        byte = raw[i]
        if byte == 0x25:  # '%'
            if i + 2 < n and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
                value = int(raw[i + 1 : i + 3], 16)
                if value in _UNRESERVED:
                    append(chr(value))
                else:
                    append("%" + raw[i + 1 : i + 3].decode("ascii").upper())
                i += 3
                continue
            append("%25")
        elif byte in _RAW_OK:
            append(chr(byte))
        else:
            append(f"%{byte:02X}")
        i += 1
    return "".join(out)


def request_path(url: str) -> str:
    """The part of ``url`` that rules match against, in normal form.

    That is the path plus ``?query`` (RFC 9309 §2.2.2 matches "the path" and
    the RFC's own examples include queries), without the fragment, with an
    empty path read as ``/`` (RFC 3986 §6.2.3). ``url`` may be absolute or a
    path starting with ``/``.
    """
    simple = _SIMPLE_URL(url)
    if simple:
        return simple[1] or "/"
    if url.startswith("/") and not url.startswith("//"):
        path = url.partition("#")[0]
    else:
        try:
            parts = urlsplit(url)
        except ValueError:
            # An unparseable URL (bad IPv6 literal...): match on everything after the
            # authority we can find, so a decision is still made.
            after = url.split("//", 1)[-1]
            slash = after.find("/")
            path = after[slash:].partition("#")[0] if slash >= 0 else "/"
        else:
            path = parts.path
            # A bare "?" is still part of what rules see ("/a?" differs from "/a").
            if parts.query or url.partition("#")[0].endswith("?"):
                path += "?" + parts.query
    if not path.startswith("/"):
        path = "/" + path
    return normalize(path)


def path_only(normal_path: str) -> str:
    """The path of a normalised request path, without its query."""
    return normal_path.partition("?")[0]
