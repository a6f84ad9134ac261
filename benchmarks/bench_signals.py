"""Opt-out signals: µs per observed response, per TDMRep lookup, per RSL licence parse.

    python benchmarks/bench_signals.py [--rounds N]

Printed side by side in one run: a response with no signals (the common case:
headers only, a small HTML head), a response with X-Robots-Tag, Content-Usage
and head meta tags, a worst-case head (256 KiB of inline script before the
first body element), a binary body (never parsed), a tdmrep.json lookup in a
1000-rule file (first match at the end), and parsing an RSL licence, plus the
refusal of a billion-laughs licence.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from crawler_compliance.signals import OptOuts, ResponseView, RslLicence, tdmrep_from_fetch

PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Story</title>"
    b'<link rel=stylesheet href="/s.css"><meta name="viewport" content="width=device-width">'
    + b"<script>var x = 1;</script>" * 20
    + b"</head><body>"
    + b"<p>text</p>" * 2000
    + b"</body></html>"
)
SIGNALLED = PAGE.replace(
    b"<title>",
    b'<meta name="robots" content="noai, noimageai"><meta name="tdm-reservation" '
    b'content="1"><title>',
)
HUGE_HEAD = b"<html><head><script>" + b"x" * (256 * 1024) + b"</script></head><body></body>"
LICENCE = (
    b'<rsl xmlns="https://rslstandard.org/rsl">'
    + b"".join(
        f'<content url="/section-{n}/"><license><prohibits type="usage">ai-train</prohibits>'
        f'<payment type="crawl"><amount currency="USD">0.01</amount></payment></license>'
        f"</content>".encode()
        for n in range(200)
    )
    + b"</rsl>"
)
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY a{n} "{"&a;" * 10}">'.encode() for n in range(9))
    + b']><rsl xmlns="https://rslstandard.org/rsl"><content url="/">&a8;</content></rsl>'
)


def per_call(fn: Callable[[], object], rounds: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    opt = OptOuts(purpose="ai-training", product_token="ComplianceDemoBot")
    plain = ResponseView("https://e.com/a", 200, {"content-type": ["text/html"]}, PAGE, "text/html")
    signalled = ResponseView(
        "https://e.com/a",
        200,
        {
            "x-robots-tag": ["ComplianceDemoBot: noindex", "googlebot: noai"],
            "content-usage": ["train-ai=n, search=y"],
        },
        SIGNALLED,
        "text/html; charset=utf-8",
    )
    huge = ResponseView("https://e.com/a", 200, {}, HUGE_HEAD, "text/html")
    binary = ResponseView(
        "https://e.com/a.png", 200, {}, b"\x89PNG" + b"\x00" * 262_144, "image/png"
    )
    rules = [{"location": f"/s{n}/", "tdm-reservation": 1} for n in range(999)]
    rules.append({"location": "/", "tdm-reservation": 0})
    tdm = tdmrep_from_fetch(
        "https://e.com/.well-known/tdmrep.json", status=200, body=json.dumps(rules).encode()
    )
    rows = [
        ("observe: page without signals", per_call(lambda: opt.observe(plain), rounds)),
        (
            "observe: X-Robots-Tag + Content-Usage + meta",
            per_call(lambda: opt.observe(signalled), rounds),
        ),
        (
            "observe: 256 KiB head (worst case)",
            per_call(lambda: opt.observe(huge), max(rounds // 20, 10)),
        ),
        ("observe: binary body (not parsed)", per_call(lambda: opt.observe(binary), rounds)),
        (
            "tdmrep: lookup, 1000 rules, match last",
            per_call(lambda: opt.tdmrep_reasons("https://e.com/x", tdm), rounds),
        ),
        (
            "rsl: parse a 200-content licence",
            per_call(lambda: RslLicence.parse("https://e.com/l", LICENCE), max(rounds // 20, 10)),
        ),
        (
            "rsl: refuse a billion-laughs licence",
            per_call(lambda: RslLicence.parse("https://e.com/l", BOMB), rounds),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, micros in rows:
        print(f"{name:{width}}  {micros:10.1f} µs")


if __name__ == "__main__":
    main()
