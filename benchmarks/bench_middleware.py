"""Per-request cost of ComplianceMiddleware vs Scrapy's RobotsTxtMiddleware.

Steady state, in process: robots.txt is already cached for the origin, so
what is measured is the work each middleware adds to every request. Ours
canonicalises the host, checks the registry and site records, matches
robots.txt (RFC 9309 engine) and appends a hash-chained audit record to a
file; Scrapy's matches robots.txt with Protego. Both are driven through
their real ``process_request`` coroutines. Also reported: memory per cached
origin in our robots.txt cache.

Run: ``python benchmarks/bench_middleware.py`` (prints figures, asserts nothing).
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler

from crawler_compliance.robots import RobotsCache, robots_from_fetch
from crawler_compliance.scrapy import ComplianceGuardMiddleware, ComplianceMiddleware

REPO = Path(__file__).resolve().parents[1]
ROBOTS = b"""User-agent: *
Disallow: /private/
Disallow: /*.pdf$
Allow: /private/public
Crawl-delay: 0

User-agent: OtherBot
Disallow: /
"""
PATHS = [f"/articles/{n}/item-{n % 17}?page={n % 5}" for n in range(1000)]
ROUNDS = 7
PER_ROUND = 5000


class BenchSpider(Spider):
    name = "bench"


def drive(coro) -> None:
    """Run a coroutine that must not suspend (steady state: everything cached)."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("process_request suspended: the benchmark is not in steady state")


def time_per_request(middleware, requests) -> float:
    best = []
    for _ in range(ROUNDS):
        gc.collect()
        start = time.perf_counter()
        for index in range(PER_ROUND):
            drive(middleware.process_request(requests[index % len(requests)]))
        best.append((time.perf_counter() - start) / PER_ROUND)
    return statistics.median(best)


def ours(tmp: Path):
    crawler = get_crawler(
        BenchSpider,
        {
            "COMPLIANCE_POLICY_DIR": str(REPO / "policies"),
            "COMPLIANCE_AUDIT_LOG": str(tmp / "audit.jsonl"),
            "COMPLIANCE_PURPOSE": "research",
            "USER_AGENT": "ComplianceDemoBot/1.0",
        },
    )
    crawler._apply_settings()
    middleware = ComplianceMiddleware.from_crawler(crawler)
    result = robots_from_fetch(status=200, body=ROBOTS)
    middleware.robots_cache.put(("https", "bench.example", 443, None), result)
    return Both(middleware, ComplianceGuardMiddleware.from_crawler(crawler))


class Both:
    """Our two middlewares as one: decide (75), then the guard (990)."""

    def __init__(self, main, guard) -> None:
        self.main, self.guard = main, guard
        self.audit = main.audit

    async def process_request(self, request):
        await self.main.process_request(request)
        self.guard.process_request(request)


def scrapys():
    crawler = get_crawler(
        BenchSpider, {"ROBOTSTXT_OBEY": True, "USER_AGENT": "ComplianceDemoBot/1.0"}
    )
    crawler._apply_settings()
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    middleware._parsers["bench.example"] = ProtegoRobotParser.from_crawler(crawler, ROBOTS)
    return middleware


def memory_per_origin(count: int = 2000) -> float:
    body = (REPO / "benchmarks" / "bench_middleware.py").read_bytes()[:0] or ROBOTS
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    cache = RobotsCache(max_origins=count)
    for n in range(count):
        result = robots_from_fetch(status=200, body=body + f"# {n}\n".encode())
        result.explain("https://x/articles/1", "BenchBot")  # warm per-agent state
        cache.put(("https", f"host{n}.example", 443, None), result)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return grown / count


def main() -> int:
    requests = [Request(f"https://bench.example{path}") for path in PATHS]
    with tempfile.TemporaryDirectory() as tmp:
        our_mw = ours(Path(tmp))
        theirs = scrapys()
        for middleware in (our_mw, theirs):  # warm-up
            for request in requests:
                drive(middleware.process_request(request))
        ours_s = time_per_request(our_mw, requests)
        theirs_s = time_per_request(theirs, requests)
        our_mw.audit.close()
    print(
        f"Python {sys.version.split()[0]}, {ROUNDS} rounds x {PER_ROUND} requests, "
        "median round, robots.txt cached (steady state)"
    )
    print(
        f"  crawler-compliance (middleware + guard)  : {ours_s * 1e6:8.2f} us/request "
        "(host + registry + sites + robots + audit write + guard)"
    )
    print(
        f"  Scrapy RobotsTxtMiddleware (Protego)     : {theirs_s * 1e6:8.2f} us/request "
        "(robots only)"
    )
    print(
        f"  ratio ours / Scrapy's                    : {ours_s / theirs_s:8.2f}x (target: <= 1.0)"
    )
    print(f"  memory per cached origin (typical file)  : {memory_per_origin() / 1024:8.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
