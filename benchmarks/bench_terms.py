"""Terms pages: cost of normalising, fingerprinting, clause matching and link discovery.

    python benchmarks/bench_terms.py

Prints ms per page for a typical terms page (about 60 KiB of HTML with the
usual chrome: scripts, navigation, a cookie banner), for a 2 MiB page (the
default cap), for hostile bodies (deeply nested markup, a gzip bomb cut at the
cap), and peak memory of the largest case. Figures only; nothing is asserted.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable

from crawler_compliance.terms import (
    change_excerpt,
    find_terms_link,
    normalize_body,
    restrictive_clauses,
    terms_from_fetch,
)

CHROME = (
    "<head><script>" + "var x=1;" * 2000 + "</script><style>" + ".a{b:c}" * 2000 + "</style></head>"
    "<body><header><nav>" + '<a href="/x">Menu</a>' * 100 + "</nav></header>"
    '<div id="onetrust-banner-sdk">We use cookies <button>OK</button></div>'
)
CLAUSE = (
    "<p>You may not use any robot, spider, scraper or other automated means to access the "
    "Service for any purpose without our express written permission.</p>"
)
PARAGRAPH = (
    "<p>These terms govern your use of the service. Your use is subject to the policies "
    "referenced here, which may change from time to time; continued use means acceptance.</p>"
)


def typical(paragraphs: int) -> bytes:
    body = PARAGRAPH * paragraphs + CLAUSE
    footer = '<footer><a href="/terms">Terms of Service</a></footer></body>'
    return f"<!doctype html><html>{CHROME}<main>{body}</main>{footer}</html>".encode()


def per_call(func: Callable[[], object], repeat: int) -> float:
    func()
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    small = typical(200)
    large = typical(10_000)[: 2 * 1024 * 1024 - 1]
    nested = ("<div>" * 200_000 + "You may not scrape." + "</div>" * 200_000).encode()
    bomb = gzip.compress(b"<p>" + b"a" * (64 * 1024 * 1024))
    text = normalize_body(small).text
    changed = text.replace("continued use", "any use", 5)
    rows = [
        (
            f"normalise + fingerprint, {len(small) // 1024} KiB page",
            lambda: normalize_body(small),
            50,
        ),
        (
            f"normalise + fingerprint, {len(large) // 1024} KiB page",
            lambda: normalize_body(large),
            3,
        ),
        (
            "terms_from_fetch (+ clauses), typical page",
            lambda: terms_from_fetch("https://a.example/terms", status=200, body=small),
            50,
        ),  # fmt: skip
        ("restrictive clauses, typical page text", lambda: restrictive_clauses(text), 50),
        ("change excerpt, typical page", lambda: change_excerpt(text, changed), 50),
        ("find_terms_link, typical page", lambda: find_terms_link(small, "https://a.example/"), 50),
        (f"hostile: nested markup, {len(nested) // 1024} KiB", lambda: normalize_body(nested), 3),
        (
            f"hostile: gzip bomb ({len(bomb) // 1024} KiB -> 64 MiB, cut at 2 MiB)",
            lambda: terms_from_fetch("https://a.example/t", status=200, body=bomb),
            3,
        ),  # fmt: skip
    ]
    print(f"{'case':<62} {'ms/call':>10}")
    for label, func, repeat in rows:
        print(f"{label:<62} {per_call(func, repeat):>10.2f}")
    tracemalloc.start()
    normalize_body(large)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'peak Python memory, normalising the 2 MiB page':<62} {peak / 1e6:>8.1f} MB")


if __name__ == "__main__":
    main()
