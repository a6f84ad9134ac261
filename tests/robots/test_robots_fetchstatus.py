"""Fetch-status rules (RFC 9309 §2.3.1, §2.4) and the per-origin cache."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import pytest

from crawler_compliance.robots import (
    DEFAULT_MAX_BYTES,
    MAX_TTL,
    UNREACHABLE_TTL,
    RobotsCache,
    RobotsTxt,
    robots_from_fetch,
)

NOW = 1_000_000.0
BODY = b"User-agent: *\nDisallow: /private\n"


@pytest.mark.parametrize(
    ("kwargs", "kind", "status", "reachable"),
    [
        ({"status": 200, "body": BODY}, "rules", "200", True),
        ({"status": 204, "body": b""}, "rules", "204", True),
        ({"status": 404}, "allow-all", "404", True),
        ({"status": 410}, "allow-all", "410", True),
        ({"status": 401}, "allow-all", "401", True),
        ({"status": 403}, "allow-all", "403", True),
        ({"status": 429}, "disallow-all", "429", False),
        ({"status": 429, "on_429": "allow"}, "allow-all", "429", True),
        ({"status": 500}, "disallow-all", "500", False),
        ({"status": 503}, "disallow-all", "503", False),
        ({"status": 599}, "disallow-all", "599", False),
        ({"status": 301}, "disallow-all", "301", False),
        ({"status": 600}, "disallow-all", "600", False),
        ({"status": 100}, "disallow-all", "100", False),
        ({"status": None}, "disallow-all", "no-response", False),
        ({"status": None, "error": "timeout"}, "disallow-all", "timeout", False),
        ({"status": None, "error": "TimeoutError: timed out"}, "disallow-all", "timeout", False),
        (
            {"status": None, "error": "[Errno -2] Name or service not known"},
            "disallow-all",
            "dns-error",
            False,
        ),
        (
            {"status": None, "error": "internal error: KeyError('x')"},
            "disallow-all",
            "internal-error",
            False,
        ),
        ({"status": None, "error": "blocked"}, "disallow-all", "blocked", False),
        (
            {"status": None, "error": "Connection refused"},
            "disallow-all",
            "connection-error",
            False,
        ),
        (
            {"status": None, "error": "SSL: CERTIFICATE_VERIFY_FAILED"},
            "disallow-all",
            "tls-error",
            False,
        ),
        # Up to five redirects are fine (RFC 9309 §2.3.1.2)...
        (
            {"status": 200, "body": BODY, "redirects": ["a", "b", "c", "d", "e"]},
            "rules",
            "200",
            True,
        ),
        # ... more, or a loop, is unreachable.
        (
            {"status": 200, "body": BODY, "redirects": list("abcdef")},
            "disallow-all",
            "too-many-redirects",
            False,
        ),
        ({"status": 301, "redirects": ["a", "b", "a"]}, "disallow-all", "redirect-loop", False),
        (
            {"status": 200, "body": b"\x00\x01\x02\xff\xfe" * 100},
            "disallow-all",
            "undecodable",
            False,
        ),
        (
            {"status": 200, "body": b"\x1f\x8b not really gzip"},
            "disallow-all",
            "undecodable",
            False,
        ),
    ],
)
def test_fetch_status_table(kwargs: dict, kind: str, status: str, reachable: bool) -> None:
    result = robots_from_fetch(now=NOW, **kwargs)
    assert (result.kind, result.status, result.reachable) == (kind, status, reachable)
    assert (result.robots is not None) == (kind == "rules")
    assert result.fetched_at == NOW
    assert NOW <= result.expires_at <= NOW + MAX_TTL
    assert result.reason
    match = result.explain("https://e.com/private/x", "bot")
    # BODY disallows /private; an empty 2xx body has no rules at all.
    assert match.allowed is (kind == "allow-all" or (kind == "rules" and not kwargs["body"]))
    if kind != "rules":
        assert match.line is None and match.reason == result.reason


def test_reasons_cite_the_rfc() -> None:
    assert robots_from_fetch(status=503).reason == (
        "robots.txt returned 503: server error means disallow all (RFC 9309 §2.3.1.4)"
    )
    assert "§2.3.1.3" in robots_from_fetch(status=404).reason


def test_robots_txt_stays_allowed_under_disallow_all() -> None:
    result = robots_from_fetch(status=503)
    assert result.explain("https://e.com/robots.txt", "bot").allowed
    assert not result.allows("https://e.com/", "bot")


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ({}, MAX_TTL),
        ({"Cache-Control": "max-age=600"}, 600),
        ({"cache-control": "public, max-age=999999999"}, MAX_TTL),
        ({"Cache-Control": "no-store"}, 0),
        ({"Cache-Control": "no-cache"}, 0),
        ({"Cache-Control": "garbage"}, MAX_TTL),
    ],
)
def test_ttl_from_cache_control(headers: dict, ttl: float) -> None:
    assert (
        robots_from_fetch(status=200, body=BODY, headers=headers, now=NOW).expires_at == NOW + ttl
    )
    assert robots_from_fetch(status=404, headers=headers, now=NOW).expires_at == NOW + ttl


def test_unreachable_results_expire_sooner() -> None:
    assert robots_from_fetch(status=503, now=NOW).expires_at == NOW + UNREACHABLE_TTL


def test_fingerprint_is_of_the_body_as_served() -> None:
    packed = gzip.compress(BODY)
    plain = robots_from_fetch(status=200, body=BODY)
    assert plain.fingerprint == hashlib.sha256(BODY).hexdigest() == plain.robots.fingerprint
    zipped = robots_from_fetch(status=200, body=packed, headers={"Content-Encoding": "gzip"})
    assert zipped.fingerprint == hashlib.sha256(packed).hexdigest()
    assert robots_from_fetch(status=404).fingerprint is None


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (gzip.compress(BODY), {"Content-Encoding": "gzip"}),
        (gzip.compress(BODY), {}),  # gzip served without Content-Encoding
        (zlib.compress(BODY), {"Content-Encoding": "deflate"}),
        (zlib.compress(BODY)[2:-4], {"Content-Encoding": "deflate"}),  # raw deflate
        (BODY.decode().encode("utf-16"), {}),  # UTF-16 with BOM
        (BODY.decode().encode("utf-16-le"), {}),  # UTF-16 without BOM
        (BODY.decode().encode("utf-16-be"), {}),
        (b"\xef\xbb\xbf" + BODY, {}),
        (
            b"User-agent: *\nDisallow: /priv\xe9\nDisallow: /private\n",
            {"Content-Type": "text/plain; charset=iso-8859-1"},
        ),
    ],
)
def test_encodings_are_read_not_turned_into_allow_all(body: bytes, headers: dict) -> None:
    result = robots_from_fetch(status=200, body=body, headers=headers)
    assert result.kind == "rules", result.reason
    assert not result.allows("https://e.com/private/x", "bot")
    assert result.allows("https://e.com/public", "bot")


def test_latin1_without_charset_still_matches_latin1_urls() -> None:
    result = robots_from_fetch(status=200, body=b"User-agent: *\nDisallow: /caf\xe9\n")
    assert result.kind == "rules"
    assert not result.allows("https://e.com/caf%E9/x", "bot")


def test_the_whole_accepted_body_is_parsed_not_only_the_first_512_kib() -> None:
    # RFC 9309 §2.5: 500 KiB is the least a crawler must parse; we parse the 4 MiB
    # the fetchers accept, so a rule written after 600 KB still binds.
    filler = b"# padding\n" * 60_000  # 600 KB
    body = b"User-agent: *\nDisallow: /early\n" + filler + b"Disallow: /late\n"
    result = robots_from_fetch(status=200, body=body)
    assert result.kind == "rules" and not result.robots.truncated
    assert not result.allows("/early", "bot")
    assert not result.allows("/late", "bot")
    assert DEFAULT_MAX_BYTES == 4 * 1024 * 1024


def test_a_body_past_4_mib_parses_its_first_4_mib() -> None:
    filler = b"# padding\n" * 430_000  # 4.3 MB
    body = b"User-agent: *\nDisallow: /early\n" + filler + b"Disallow: /late\n"
    result = robots_from_fetch(status=200, body=body)
    assert result.kind == "rules" and result.robots.truncated
    assert str(DEFAULT_MAX_BYTES) in result.reason
    assert not result.allows("/early", "bot")
    assert result.allows("/late", "bot")  # past the cap: ignored, not allow-all


def test_a_gzip_body_is_parsed_whole_up_to_4_mib_inflated() -> None:
    import gzip

    filler = b"# padding\n" * 300_000  # 3 MB inflated
    body = gzip.compress(b"User-agent: *\n" + filler + b"Disallow: /late\n")
    result = robots_from_fetch(status=200, body=body)
    assert not result.allows("/late", "bot")


def test_truncated_allow_line_is_dropped_not_shortened() -> None:
    body = b"User-agent: *\nDisallow: /\nAllow: /public/only-this-page"
    robots = RobotsTxt.parse(body, max_bytes=len(body) - 15)
    assert not robots.allows("/public/other", "bot")


def test_on_429_must_be_known() -> None:
    with pytest.raises(ValueError, match="on_429"):
        robots_from_fetch(status=429, on_429="maybe")


# -- cache -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


ORIGIN = ("https", "example.com", 443)


def test_cache_ttl() -> None:
    clock = Clock()
    cache = RobotsCache(clock=clock)
    assert cache.get(ORIGIN) is None
    result = robots_from_fetch(
        status=200, body=BODY, now=clock.now, headers={"Cache-Control": "max-age=60"}
    )
    assert cache.put(ORIGIN, result) is result
    assert cache.get(ORIGIN) is result
    clock.now += 59
    assert cache.get(ORIGIN) is result
    clock.now += 1
    assert cache.get(ORIGIN) is None
    assert len(cache) == 1


def test_cache_ttl_from_policy_shortens_but_never_lengthens() -> None:
    clock = Clock()
    cache = RobotsCache(clock=clock, max_ttl=600)
    cache.put(ORIGIN, robots_from_fetch(status=200, body=BODY, now=clock.now))
    clock.now += 599
    assert cache.get(ORIGIN) is not None
    clock.now += 1
    assert cache.get(ORIGIN) is None


def test_cache_keeps_last_good_copy_while_unreachable() -> None:
    clock = Clock()
    cache = RobotsCache(clock=clock)
    good = cache.put(ORIGIN, robots_from_fetch(status=200, body=BODY, now=clock.now))
    clock.now += 2 * 86400
    used = cache.put(ORIGIN, robots_from_fetch(status=503, now=clock.now))
    assert used.kind == "rules" and used.robots is good.robots
    assert "stale copy" in used.reason and "503" in used.reason
    assert used.fetched_at == good.fetched_at
    assert used.expires_at == clock.now + UNREACHABLE_TTL  # retried soon
    assert cache.get(ORIGIN) == used
    assert not used.allows("/private", "bot") and used.allows("/public", "bot")


def test_cache_last_good_copy_expires_after_max_stale() -> None:
    clock = Clock()
    cache = RobotsCache(clock=clock, max_stale=30 * 86400)
    cache.put(ORIGIN, robots_from_fetch(status=200, body=BODY, now=clock.now))
    clock.now += 30 * 86400
    used = cache.put(ORIGIN, robots_from_fetch(status=None, error="timeout", now=clock.now))
    assert used.kind == "disallow-all" and used.status == "timeout"


def test_cache_4xx_is_a_good_copy_and_reachable_results_replace() -> None:
    clock = Clock()
    cache = RobotsCache(clock=clock)
    cache.put(ORIGIN, robots_from_fetch(status=404, now=clock.now))
    assert cache.put(ORIGIN, robots_from_fetch(status=500, now=clock.now)).kind == "allow-all"
    fresh = robots_from_fetch(status=200, body=b"User-agent: *\nDisallow: /\n", now=clock.now)
    assert cache.put(ORIGIN, fresh) is fresh
    # Without a good copy, unreachable stands.
    other = ("http", "example.org", 80)
    assert cache.put(other, robots_from_fetch(status=502, now=clock.now)).kind == "disallow-all"


def test_cache_lru_eviction() -> None:
    cache = RobotsCache(max_origins=2, clock=Clock())
    origins = [("https", f"h{i}.example", 443) for i in range(3)]
    results = [robots_from_fetch(status=404, now=NOW) for _ in origins]
    cache.put(origins[0], results[0])
    cache.put(origins[1], results[1])
    assert cache.get(origins[0]) is results[0]  # now most recently used
    cache.put(origins[2], results[2])
    assert len(cache) == 2
    assert cache.get(origins[1]) is None
    assert cache.get(origins[0]) is results[0] and cache.get(origins[2]) is results[2]
