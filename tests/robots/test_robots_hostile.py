"""Hostile bodies must end in a clean decision, in bounded time and memory.

The bound is a generous guard (seconds, on a loaded 2-core CI machine), not a
timer: the benchmark prints the real figures. What matters here is that each
case ends, decides, and decides the safe way.
"""

from __future__ import annotations

import gzip
import time

import pytest

from crawler_compliance.robots import RobotsTxt, robots_from_fetch

GUARD_SECONDS = 5.0
PATHOLOGICAL = "/*" + "a*" * 20 + "b"


def _hostile_bodies() -> dict[str, tuple[bytes, bool | None]]:
    """name -> (body, is /private/x allowed?) with None when only 'it decides' matters."""
    head = b"User-agent: *\nDisallow: /private\n"
    return {
        "5 MB file": (head + b"Disallow: /x\n" * (5 * 1024 * 1024 // 13), False),
        "100k lines": (head + b"".join(b"Allow: /p%d\n" % i for i in range(100_000)), False),
        "one 2 MB line": (head + b"Disallow: /" + b"a" * (2 * 1024 * 1024) + b"\n", False),
        "10k groups": (
            b"".join(b"User-agent: bot%d\nDisallow: /%d\n" % (i, i) for i in range(10_000)) + head,
            False,
        ),
        # 1.7 MB: the end is past the 512 KiB cap, the first group still counts.
        "100k user-agent lines": (
            head + b"".join(b"User-agent: bot%d\n" % i for i in range(100_000)) + b"Disallow: /\n",
            False,
        ),
        "NUL bytes": (b"\x00" * 100_000, False),
        "random binary": (bytes(range(256)) * 4000, False),
        "NUL inside text": (head + b"Disallow: /a\x00b\n", False),
        "HTML": (
            b"<!DOCTYPE html><html><head><title>Not found</title></head><body>"
            b"<p>Disallow: nothing here</p></body></html>\n" * 1000,
            True,
        ),
        "UTF-16": (head.decode().encode("utf-16") * 2, False),
        "gzip without header": (gzip.compress(head * 100), False),
        "gzip bomb": (gzip.compress(head + b"#" * (50 * 1024 * 1024)), False),
        "wildcards": (
            b"User-agent: *\n"
            + b"".join(b"Disallow: /*%d*a*b*c*d*e*f*g*h*i*j$\n" % i for i in range(20_000)),
            None,
        ),
        "pathological wildcard": (
            b"User-agent: *\nDisallow: " + PATHOLOGICAL.encode() + b"\n",
            True,
        ),
        "only CRs": (b"User-agent: *\rDisallow: /private\r" * 50_000, False),
    }


HOSTILE = _hostile_bodies()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_body_ends_in_a_decision(name: str) -> None:
    body, expected = HOSTILE[name]
    started = time.perf_counter()
    result = robots_from_fetch(status=200, body=body)
    verdicts = [
        result.allows(url, "bot")
        for url in ("https://e.com/private/x", "https://e.com/" + "a" * 10_000, "https://e.com/")
    ]
    elapsed = time.perf_counter() - started
    assert elapsed < GUARD_SECONDS, f"{name} took {elapsed:.2f}s"
    assert all(isinstance(v, bool) for v in verdicts)
    if expected is not None:
        assert verdicts[0] is expected, result.reason


def test_binary_is_disallow_all_with_the_reason() -> None:
    result = robots_from_fetch(status=200, body=bytes(range(256)) * 100)
    assert (result.kind, result.status) == ("disallow-all", "undecodable")
    assert "not text" in result.reason


@pytest.mark.parametrize("length", [30, 1_000, 100_000, 1_000_000])
def test_pathological_wildcard_is_linear(length: int) -> None:
    robots = RobotsTxt.parse(
        "User-agent: *\nDisallow: " + PATHOLOGICAL + "\n"
        "Disallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b$\n"
    )
    started = time.perf_counter()
    assert robots.allows("/" + "a" * length, "bot")
    assert not robots.allows("/" + "a" * length + "b", "bot")
    # Twenty 'a's, each followed by anything, then a 'b': a match.
    assert not robots.allows("/" + "ab" * max(21, length // 2), "bot")
    assert time.perf_counter() - started < GUARD_SECONDS


def test_many_stars_and_anchor_on_a_long_path() -> None:
    # 16,000 stars: just under the line cap (2083 * 8 - 1 octets, as Google's parser).
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /" + "*" * 16_000 + "x$\n")
    assert not robots.allows("/" + "y" * 500_000 + "x", "bot")
    assert robots.allows("/" + "y" * 500_000, "bot")


def test_a_run_of_stars_in_an_allow_is_one_star_before_the_line_is_cut() -> None:
    # 100,000 stars then "x$": the rule is "/*x$" (a run of '*' means one '*'),
    # collapsed before the 16,663-octet line cut. Cut first, it would become
    # "/****..." and allow everything.
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\nAllow: /" + "*" * 100_000 + "x$\n")
    assert robots.allows("/" + "y" * 5_000 + "x", "bot")
    assert not robots.allows("/" + "y" * 5_000, "bot")


def test_a_run_of_stars_in_a_disallow_is_one_star_before_the_line_is_cut() -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /" + "*" * 100_000 + "x$\n")
    assert not robots.allows("/" + "y" * 500_000 + "x", "bot")
    assert robots.allows("/" + "y" * 500_000, "bot")


def test_a_long_user_agent_line_of_stars_is_not_the_star_group() -> None:
    robots = RobotsTxt.parse("User-agent: " + "*" * 100_000 + "\nDisallow: /\n")
    assert robots.allows("/x", "bot")  # "**..." names no crawler; it is not "*"


def test_stars_are_collapsed_in_linear_time() -> None:
    line = "Disallow: /" + "*a" * 1_000_000 + "\n"
    started = time.perf_counter()
    robots = RobotsTxt.parse(("User-agent: *\n" + line).replace("*a", "**a"))
    robots.allows("/" + "a" * 100, "bot")
    assert time.perf_counter() - started < GUARD_SECONDS
