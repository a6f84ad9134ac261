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
  original octet, so a Latin-1 rule still matches a Latin-1 URL;
* in a URL, ``*`` and ``$`` are data, so they are written ``%2A`` and ``%24``,
  which is how a rule names them literally (RFC 9309 §2.2.3: the pattern
  ``/path/foo-%24`` matches ``https://www.example.com/path/foo-$``); in a
  pattern, a ``$`` that is not the final character is literal, so it is
  written ``%24`` too;
* in the query (after the first ``?``), ``:``, ``/``, ``?`` and ``@`` are
  data, never delimiters (RFC 3986 §3.4), and RFC 9309 §2.2.2's table has
  ``/foo/bar?baz=https://foo.bar`` match ``...?baz=https%3A%2F%2Ffoo.bar``.
  Their escapes ``%3A``, ``%2F``, ``%3F``, ``%40`` are therefore decoded
  there, on both sides. In the path they stay escaped: ``/a%2Fb`` is one
  segment and ``/a/b`` two.

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
# No '%', '*' or '$' (those need rewriting, see above).
_SIMPLE_URL = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#\\]*"
    r"(/[A-Za-z0-9\-._~:/?\[\]@!&'()+,;=]*)?(?:#.*)?",
    re.DOTALL,
).fullmatch
_PATH_START = re.compile("[/?;#]").search
# Escapes of characters that are plain data inside a query (RFC 3986 §3.4).
_QUERY_DATA = (("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"))


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


def _decode_query_data(normal: str) -> str:
    """Decode ``%3A %2F %3F %40`` after the first ``?`` of a normalised string.

    Safe as plain replacement: in normal form every ``%`` starts a complete
    three-character escape, so ``%3A`` found there is always one escape.
    """
    head, mark, query = normal.partition("?")
    if not mark or "%" not in query:
        return normal
    for escape, char in _QUERY_DATA:
        query = query.replace(escape, char)
    return head + mark + query


def normalize_path(text: str) -> str:
    """Normal form of a URL's path and query, as rules compare against it."""
    normal = normalize(text)
    if "*" in normal or "$" in normal:
        # RFC 9309 §2.2.3: a literal '*' or '$' in a URL is what %2A / %24 name in a rule.
        normal = normal.replace("*", "%2A").replace("$", "%24")
    return _decode_query_data(normal)


def normalize_pattern(value: str) -> str:
    """Normal form of an ``allow``/``disallow`` value, keeping ``*`` and a final ``$``.

    A ``$`` anywhere but at the end is an ordinary character (RFC 9309
    §2.2.3), written ``%24`` to match a URL's ``$``.
    """
    normal = normalize(value)
    anchor = "$" if normal.endswith("$") else ""
    body = normal[:-1] if anchor else normal
    if "$" in body:
        body = body.replace("$", "%24")
    return _decode_query_data(body) + anchor


def request_path(url: str) -> str:
    """The part of ``url`` that rules match against, in normal form.

    That is the path plus ``?query`` (RFC 9309 §2.2.2 matches "the path" and
    the RFC's own examples include queries), without the fragment, with an
    empty path read as ``/`` (RFC 3986 §6.2.3). ``url`` may be absolute, a
    path starting with ``/``, or, as Google's parser reads it, a URL without
    a scheme (``example.com/a`` is the path ``/a`` on host ``example.com``).
    """
    simple = _SIMPLE_URL(url)
    if simple:
        return simple[1] or "/"
    if url.startswith("/") and not url.startswith("//"):
        path = url.partition("#")[0]
    elif not url.startswith("//") and not _has_scheme(url):
        # "host/path", "host?query", "host": everything before the first '/', '?'
        # or ';' is the authority (Google's GetPathParamsQuery does the same).
        cut = _PATH_START(url)
        path = "/" if cut is None or cut[0] == "#" else url[cut.start() :].partition("#")[0]
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
    return normalize_path(path)


def _has_scheme(url: str) -> bool:
    """``scheme://`` before the first ``/``, ``?``, ``;`` or ``#``."""
    found = url.find("://")
    cut = _PATH_START(url)
    return found > 0 and (cut is None or found < cut.start())


def path_only(normal_path: str) -> str:
    """The path of a normalised request path, without its query."""
    return normal_path.partition("?")[0]
