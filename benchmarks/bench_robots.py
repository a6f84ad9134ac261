"""robots.txt engines side by side: ours, Protego, robotexclusionrulesparser (one run).

Prints parse rate, parse p50/p99 per file, match rate and the ratios between
engines on the real-world corpus (../shared/corpora/robots-real-world), then
hostile-file timings and the correctness checks that rule robotexclusionrulesparser
out. Figures only, no assertions: ``python benchmarks/bench_robots.py``.
"""

from __future__ import annotations

import gc
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from crawler_compliance.robots import RobotsTxt, robots_from_fetch

CORPUS = next(
    (
        p / "shared" / "corpora" / "robots-real-world"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "corpora" / "robots-real-world").is_dir()
    ),
    Path("/nonexistent"),
)
AGENTS = ("Googlebot", "Bingbot", "MyCrawler")
FIXED = ("/", "/index.html", "/search?q=x", "/admin/", "/wp-admin/admin-ajax.php")
RULE_VALUE = re.compile(r"^\s*(?:dis)?allow\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def urls_for(text: str, limit: int = 24) -> list[str]:
    paths = list(FIXED)
    for found in RULE_VALUE.finditer(text, 0, 100_000):
        value = found[1].split("#")[0].replace("*", "x").rstrip("$")
        value = value if value.startswith("/") else "/" + value
        paths += [value, value + "z"]
    return ["https://example.com" + p for p in dict.fromkeys(paths)][:limit]


def engines() -> dict[str, tuple[Callable[[bytes, str], object], Callable[..., bool]]]:
    """name -> (parse(raw, text), allows(parsed, url, agent))."""
    found: dict[str, tuple[Callable[[bytes, str], object], Callable[..., bool]]] = {
        "ours": (
            lambda raw, text: RobotsTxt.parse(raw),
            lambda parsed, url, agent: parsed.allows(url, agent),
        ),
    }
    try:
        from protego import Protego

        found["protego"] = (
            lambda raw, text: Protego.parse(text),
            lambda parsed, url, agent: parsed.can_fetch(url, agent),
        )
    except ImportError:
        print("protego not installed: skipped")
    try:
        from robotexclusionrulesparser import RobotExclusionRulesParser

        def rerp_parse(raw: bytes, text: str) -> object:
            parser = RobotExclusionRulesParser()
            parser.parse(text)
            return parser

        found["rerp"] = (rerp_parse, lambda parsed, url, agent: parsed.is_allowed(agent, url))
    except ImportError:
        print("robotexclusionrulesparser not installed: skipped")
    return found


def bench_corpus() -> None:
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}: corpus figures skipped")
        return
    files = [(p.read_bytes()) for p in sorted(CORPUS.iterdir())]
    texts = [raw.decode("utf-8", "ignore") for raw in files]  # as Scrapy hands Protego text
    total_mb = sum(len(raw) for raw in files) / 1e6
    queries = [
        (i, url, agent)
        for i, text in enumerate(texts)
        for url in urls_for(text)
        for agent in AGENTS
    ]
    print(f"corpus: {len(files)} files, {total_mb:.1f} MB, {len(queries)} queries\n")
    print(
        "match 1st: first pass over the queries (ours compiles a group on its first use);"
        " match 2nd: the same queries again. GC is off while timing, as in timeit.\n"
    )
    rates: dict[str, tuple[float, float, float]] = {}
    for name, (parse, allows) in engines().items():
        gc.collect()
        gc.disable()
        try:
            times, parsed = [], []
            for raw, text in zip(files, texts, strict=True):
                started = time.perf_counter()
                parsed.append(parse(raw, text))
                times.append(time.perf_counter() - started)
            passes = []
            for _ in range(2):
                started = time.perf_counter()
                for i, url, agent in queries:
                    allows(parsed[i], url, agent)
                passes.append(len(queries) / (time.perf_counter() - started))
        finally:
            gc.enable()
        del parsed
        times.sort()
        parse_rate = len(files) / sum(times)
        rates[name] = (parse_rate, *passes)
        print(
            f"{name:>8}: parse {parse_rate:6.0f} files/s ({total_mb / sum(times):4.1f} MB/s), "
            f"p50 {statistics.median(times) * 1e3:.3f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms, max {times[-1] * 1e3:.1f} ms;"
            f" match 1st {passes[0]:7.0f}/s, 2nd {passes[1]:7.0f}/s"
        )
    ours = rates["ours"]
    for other, (parse_rate, first, second) in rates.items():
        if other != "ours":
            print(
                f"ours / {other}: parse x{ours[0] / parse_rate:.2f}, "
                f"match 1st x{ours[1] / first:.2f}, match 2nd x{ours[2] / second:.2f}"
            )


def hostile_bodies() -> dict[str, bytes]:
    import gzip

    head = b"User-agent: *\nDisallow: /private\n"
    return {
        "5 MB file": head + b"Disallow: /x\n" * (5 * 1024 * 1024 // 13),
        "100k lines": head + b"".join(b"Allow: /p%d\n" % i for i in range(100_000)),
        "one 2 MB line": head + b"Disallow: /" + b"a" * (2 * 1024 * 1024) + b"\n",
        "10k groups": b"".join(
            b"User-agent: bot%d\nDisallow: /%d\n" % (i, i) for i in range(10_000)
        )
        + head,
        "100k user-agent lines": head
        + b"".join(b"User-agent: bot%d\n" % i for i in range(100_000)),
        "binary": bytes(range(256)) * 20_000,
        "UTF-16": (head * 20_000).decode().encode("utf-16"),
        "gzip bomb (50 MB inflated)": gzip.compress(head + b"#" * (50 * 1024 * 1024)),
        "20k wildcard rules": b"User-agent: *\n"
        + b"".join(b"Disallow: /*%d*a*b*c*d*e*f*g*h*i*j$\n" % i for i in range(20_000)),
        "/*a*a...(20)*b vs 100k 'a'": b"User-agent: *\nDisallow: /*" + b"a*" * 20 + b"b\n",
        "4 MiB of distinct rules (parsed whole)": head
        + b"".join(b"Disallow: /p%d\n" % i for i in range(380_000)),
        "4 MiB gzip of distinct rules": gzip.compress(
            head + b"".join(b"Allow: /q%d\n" % i for i in range(400_000))
        ),
        "1 MB line of '**a' (stars collapsed)": b"User-agent: *\nAllow: /" + b"**a" * 350_000,
    }


def bench_hostile() -> None:
    print("\nhostile files (ours: fetch-status rules + parse + 3 verdicts, one a 100k path):")
    try:
        from protego import Protego
    except ImportError:
        Protego = None  # noqa: N806
    for name, body in hostile_bodies().items():
        gc.collect()
        started = time.perf_counter()
        result = robots_from_fetch(status=200, body=body)
        for url in ("/private/x", "/" + "a" * 100_000, "/"):
            result.allows(url, "bot")
        ours = time.perf_counter() - started
        line = f"  {name:<28} ours {ours * 1e3:8.1f} ms  -> {result.kind} ({result.status})"
        if Protego is not None:
            started = time.perf_counter()
            parsed = Protego.parse(body.decode("utf-8", "ignore"))
            for url in ("/private/x", "/" + "a" * 100_000, "/"):
                parsed.can_fetch(url, "bot")
            line += f"   protego {(time.perf_counter() - started) * 1e3:8.1f} ms"
        print(line)


def bench_hostile_paths() -> None:
    """Every path a server could resolve a hostile request path to (hole 4): linear."""
    from crawler_compliance._hosts import path_candidates

    print("\nhostile request paths (path_candidates: decoded 0-2 times, strict and lenient):")
    for name, path in {
        "200 kB of '..%2F'": "/" + "..%2F" * 40_000 + "x",
        "200 kB of '%252e'": "/" + "%252e" * 40_000,
        "200 kB of 'a/'": "/" + "a/" * 100_000,
        "200 kB of '%2e%2e%5c;'": "/" + "%2e%2e%5c;" * 20_000,
    }.items():
        started = time.perf_counter()
        found = path_candidates(path)
        elapsed = (time.perf_counter() - started) * 1e3
        print(f"  {name:<28} {elapsed:8.1f} ms  -> {len(found)} candidates")


_RERP_WILDCARDS = """
import time
from robotexclusionrulesparser import RobotExclusionRulesParser
p = RobotExclusionRulesParser()
p.parse("User-agent: *\\nDisallow: /*" + "a*" * {n} + "b\\n")
t = time.perf_counter(); p.is_allowed("bot", "/" + "a" * 30)
print(f"{{time.perf_counter() - t:.2f}}")
"""


def bench_rerp_failures() -> None:
    try:
        from robotexclusionrulesparser import RobotExclusionRulesParser
    except ImportError:
        return
    print("\nrobotexclusionrulesparser correctness (RFC 9309 verdict in brackets):")
    cases = [
        (
            "first match, not longest",
            "User-agent: *\nAllow: /\nDisallow: /private\n",
            "/private/x",
            False,
        ),
        ("blank line ends the group", "User-agent: a\n\nUser-agent: b\nDisallow: /\n", "/", False),
        ("agent substring", "User-agent: bot\nDisallow: /\n", "/", True),
        ("%2A is a literal '*'", "User-agent: *\nDisallow: /a%2Ab\n", "/aXXb", True),
    ]
    for label, text, path, expected in cases:
        parser = RobotExclusionRulesParser()
        parser.parse(text)
        agent = "a" if "User-agent: a" in text else "MyBot"
        got = parser.is_allowed(agent, "https://e.com" + path)
        print(
            f"  {label:<28} {'allow' if got else 'deny':>5} "
            f"[{'allow' if expected else 'deny'}] {'WRONG' if got != expected else 'ok'}"
        )
    for wildcards in (10, 12, 14, 20):
        try:
            out = subprocess.run(
                [sys.executable, "-c", _RERP_WILDCARDS.format(n=wildcards)],
                capture_output=True,
                text=True,
                timeout=10,
            )
            figure = f"{out.stdout.strip()} s"
        except subprocess.TimeoutExpired:
            figure = "did not finish in 10 s"
        robots = RobotsTxt.parse("User-agent: *\nDisallow: /*" + "a*" * wildcards + "b\n")
        started = time.perf_counter()
        robots.allows("/" + "a" * 30, "bot")
        ours = (time.perf_counter() - started) * 1e6
        print(f"  /*a*..*b with {wildcards} wildcards vs 30 'a': rerp {figure}, ours {ours:.0f} us")


if __name__ == "__main__":
    bench_corpus()
    bench_hostile()
    bench_hostile_paths()
    bench_rerp_failures()
