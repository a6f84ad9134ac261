"""What a robots.txt fetch outcome means, as a pure function (RFC 9309 §2.3.1, §2.4).

The adapters fetch (Scrapy through its engine, the CLI with urllib) and hand
the outcome here, so every adapter applies the same table:

======================================  ==============  =================================
outcome                                 kind            RFC 9309
======================================  ==============  =================================
2xx, readable body                      rules           §2.3.1.1 parse and obey
2xx, body not text (binary, bad gzip)   disallow-all    §2.3.1.5 / issue 3: unreadable
3xx not followed, >5 hops, or a loop    disallow-all    §2.3.1.2 (we treat as unreachable)
429 (configurable)                      disallow-all    rate limited: not "unavailable"
other 4xx                               allow-all       §2.3.1.3 unavailable
5xx, other statuses                     disallow-all    §2.3.1.4 unreachable
timeout, DNS, connection, TLS errors    disallow-all    §2.3.1.4 unreachable
======================================  ==============  =================================

RFC 9309 §2.3.1.2 lets a crawler treat more than five redirects as
"unavailable" (allow all); we take the stricter reading, "unreachable", so a
misconfigured redirect can never open a site. Results expire after 24 hours
at most (§2.4), sooner when ``Cache-Control`` says so; unreachable results
after :data:`UNREACHABLE_TTL`, so the crawler retries.
"""

from __future__ import annotations

import enum
import hashlib
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crawler_compliance.robots._decode import DEFAULT_MAX_BYTES, gunzip
from crawler_compliance.robots._normalize import path_only, request_path
from crawler_compliance.robots._robots import RobotsMatch, RobotsTxt

MAX_TTL = 24 * 3600.0  # RFC 9309 §2.4: do not use a cached copy for more than 24 hours
UNREACHABLE_TTL = 3600.0  # retry an unreachable robots.txt after an hour
MAX_REDIRECTS = 5  # RFC 9309 §2.3.1.2: follow at least five consecutive redirects


class RobotsKind(str, enum.Enum):
    """What a robots.txt fetch outcome means for the origin's URLs.

    A misspelt kind fails at construction (``RobotsKind("Allow-All")`` raises):
    it can never fall through to "allow".
    """

    RULES = "rules"  # a readable file: obey its rules
    ALLOW_ALL = "allow-all"  # 4xx: unavailable (RFC 9309 §2.3.1.3)
    DISALLOW_ALL = "disallow-all"  # unreachable, unreadable, 5xx... (§2.3.1.4)

    def __str__(self) -> str:
        return self.value


KINDS = tuple(kind.value for kind in RobotsKind)

_ERROR_CODES = (
    "timeout",
    "dns-error",
    "connection-error",
    "tls-error",
    "too-many-redirects",
    "redirect-loop",
    "too-large",
    "invalid-url",
    "blocked",
    "fetch-error",
)
_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RobotsResult:
    """The robots.txt in force for an origin, and how we came to it."""

    kind: RobotsKind  # a plain string is converted; an unknown one raises ValueError
    robots: RobotsTxt | None  # the parsed file when kind is RULES
    reason: str  # plain words, for people and the audit log
    status: str  # short: "200", "404", "503", "timeout", "redirect-loop", "undecodable"...
    fingerprint: str | None  # SHA-256 of the body when one was parsed
    fetched_at: float
    expires_at: float
    reachable: bool  # False for 5xx, network errors...: the last good copy may stand in

    def __post_init__(self) -> None:
        if not isinstance(self.kind, RobotsKind):
            object.__setattr__(self, "kind", RobotsKind(self.kind))

    def allows(self, url: str, user_agent: str) -> bool:
        if self.robots is not None:
            return self.robots.allows(url, user_agent)
        return self.kind is RobotsKind.ALLOW_ALL or path_only(request_path(url)) == "/robots.txt"

    def explain(self, url: str, user_agent: str) -> RobotsMatch:
        """The verdict for ``url``; works for every kind (no line for allow/disallow-all)."""
        if self.robots is not None:
            return self.robots.explain(url, user_agent)
        if path_only(request_path(url)) == "/robots.txt":
            return RobotsMatch(
                True, None, None, None, "/robots.txt itself is always allowed (RFC 9309 §2.2.2)"
            )
        return RobotsMatch(self.kind is RobotsKind.ALLOW_ALL, None, None, None, self.reason)


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return ""


def _ttl(headers: Mapping[str, str] | None) -> float:
    """Freshness from Cache-Control, capped at 24 hours (RFC 9309 §2.4, RFC 9111 §5.2.2)."""
    control = _header(headers, "cache-control").lower()
    if "no-store" in control or "no-cache" in control:
        return 0.0
    found = _MAX_AGE.search(control)
    if found:
        return min(float(found[1]), MAX_TTL)
    return MAX_TTL


def _classify_error(error: str) -> str:
    code = error.strip().lower()
    if code in _ERROR_CODES:
        return code
    if code.startswith("internal"):
        return "internal-error"  # an adapter's own failure: still fail closed
    if "timed out" in code or "timeout" in code:
        return "timeout"
    if any(
        word in code
        for word in (
            "name or service",
            "nodename",
            "getaddrinfo",
            "dns",
            "name resolution",
            "no address",
        )
    ):
        return "dns-error"
    if "ssl" in code or "tls" in code or "certificate" in code:
        return "tls-error"
    return "connection-error"


def disallow_all(
    status: str,
    reason: str,
    *,
    now: float | None = None,
    ttl: float = UNREACHABLE_TTL,
    reachable: bool = False,
) -> RobotsResult:
    """A disallow-all result; adapters use it for outcomes of their own (e.g. "blocked")."""
    now = time.time() if now is None else now
    return RobotsResult(
        RobotsKind.DISALLOW_ALL, None, reason, status, None, now, now + ttl, reachable
    )


def robots_from_fetch(
    *,
    status: int | None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    error: str | None = None,
    redirects: Sequence[str] = (),
    now: float | None = None,
    on_429: str = "deny",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RobotsResult:
    """Apply the fetch-status rules to one fetch outcome (see the module table).

    ``redirects`` has one entry per redirect followed (Scrapy's
    ``redirect_urls`` fits: the requested URL and each intermediate one); more
    than five, or a URL seen twice, means the file is unreachable. ``error``
    is a short code ("timeout", "dns-error"...) or an exception's text.
    """
    if on_429 not in ("deny", "allow"):
        raise ValueError(f"on_429 must be 'deny' or 'allow', not {on_429!r}")
    now = time.time() if now is None else now

    if len(set(redirects)) < len(redirects):
        return disallow_all(
            "redirect-loop",
            "robots.txt redirects in a loop: unreachable, "
            "so disallow all (RFC 9309 §2.3.1.2, §2.3.1.4)",
            now=now,
        )
    if len(redirects) > MAX_REDIRECTS or (error or "").strip().lower() == "too-many-redirects":
        return disallow_all(
            "too-many-redirects",
            f"robots.txt took more than {MAX_REDIRECTS} redirects: treated as "
            "unreachable, so disallow all (RFC 9309 §2.3.1.2)",
            now=now,
        )
    if error is not None:
        code = _classify_error(error)
        detail = code if error.strip().lower() == code else f"{code}: {error}"
        return disallow_all(
            code,
            f"robots.txt could not be fetched ({detail}): "
            "unreachable means disallow all (RFC 9309 §2.3.1.4)",
            now=now,
        )
    if status is None:
        return disallow_all(
            "no-response",
            "no response for robots.txt: unreachable means disallow all (RFC 9309 §2.3.1.4)",
            now=now,
        )

    if 200 <= status < 300:
        return _parse_success(status, body or b"", headers, now, max_bytes)
    if 300 <= status < 400:
        return disallow_all(
            str(status),
            f"robots.txt returned {status} and the redirect was "
            "not followed: unreachable, so disallow all (RFC 9309 §2.3.1.2)",
            now=now,
        )
    if status == 429:
        if on_429 == "deny":
            return disallow_all(
                "429",
                "robots.txt returned 429 (too many requests): the site "
                "is rate-limiting us, so disallow all until it answers",
                now=now,
            )
        return RobotsResult(
            RobotsKind.ALLOW_ALL,
            None,
            "robots.txt returned 429, configured as unavailable: allow all (RFC 9309 §2.3.1.3)",
            "429",
            None,
            now,
            now + min(_ttl(headers), UNREACHABLE_TTL),
            True,
        )
    if 400 <= status < 500:
        return RobotsResult(
            RobotsKind.ALLOW_ALL,
            None,
            f"robots.txt returned {status}: unavailable means allow all (RFC 9309 §2.3.1.3)",
            str(status),
            None,
            now,
            now + _ttl(headers),
            True,
        )
    if 500 <= status < 600:
        return disallow_all(
            str(status),
            f"robots.txt returned {status}: server error means disallow all (RFC 9309 §2.3.1.4)",
            now=now,
        )
    return disallow_all(
        str(status),
        f"robots.txt returned unexpected status {status}: "
        "treated as unreachable, so disallow all (RFC 9309 §2.3.1.4)",
        now=now,
    )


def _parse_success(
    status: int, body: bytes, headers: Mapping[str, str] | None, now: float, max_bytes: int
) -> RobotsResult:
    encoding = _header(headers, "content-encoding").strip().lower()
    content = body
    if encoding == "deflate" and body[:2] != b"\x1f\x8b":
        inflated, _ = gunzip(body, max_bytes)  # zlib-wrapped, the common "deflate"
        if inflated is None:
            try:  # raw deflate, as some servers send it
                inflated = zlib.decompressobj(-15).decompress(body, max_bytes)
            except zlib.error:
                inflated = None
        if inflated is None:
            return _undecodable(status, "Content-Encoding: deflate does not inflate", now)
        content = inflated
    charset_match = _CHARSET.search(_header(headers, "content-type"))
    robots = RobotsTxt._parse(
        content, max_bytes=max_bytes, charset=charset_match[1] if charset_match else None
    )
    if robots._problem:
        return _undecodable(status, robots._problem, now)
    # The fingerprint is of the octets as served, before any Content-Encoding.
    fingerprint = robots.fingerprint if content is body else hashlib.sha256(body).hexdigest()
    note = (
        f"; only the first {max_bytes} bytes were read (RFC 9309 §2.5)" if robots.truncated else ""
    )
    groups = len(robots.groups)
    return RobotsResult(
        RobotsKind.RULES,
        robots,
        f"robots.txt returned {status}: {groups} group{'' if groups == 1 else 's'} parsed{note}",
        str(status),
        fingerprint,
        now,
        now + _ttl(headers),
        True,
    )


def _undecodable(status: int, problem: str, now: float) -> RobotsResult:
    return disallow_all(
        "undecodable",
        f"robots.txt returned {status} but {problem}: a body "
        "that cannot be read as text is treated as unreachable, so disallow "
        "all",
        now=now,
    )
