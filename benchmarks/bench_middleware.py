"""Per-request cost of ComplianceMiddleware vs Scrapy's RobotsTxtMiddleware.

Two figures, side by side in one run:

- **in process**, steady state: robots.txt is already cached for the origin,
  so what is measured is the work each middleware adds to every request.
  Ours canonicalises the host, checks the registry and site records, matches
  robots.txt (RFC 9309 engine), appends a hash-chained audit record to a file
  and runs the guard; Scrapy's matches robots.txt with Protego. Each is
  called as Scrapy calls it (its result awaited when there is one), on new
  requests each round.
- **in a real crawl** against a loopback HTTP server (its own process), with both our add-on
  and Scrapy's ``RobotsTxtMiddleware`` (``ROBOTSTXT_OBEY``) in the same run:
  the median time spent inside each one's ``process_request`` (ours: the
  deciding middleware plus the guard), over every page request. One crawl's
  ratio moves by about ±0.1 between runs on a shared machine, so CRAWLS
  crawls are run (each in a new process: a Twisted reactor runs once), each
  one's figures printed, and the figure is the median of their ratios.

Also reported: memory per cached origin in our robots.txt cache.

Run: ``python benchmarks/bench_middleware.py [PAGES [CRAWLS]]`` (prints figures, asserts nothing).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from time import perf_counter

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
ONE_CRAWL = "--one-crawl"  # run one real crawl, print its figures as JSON (see main)
_ARGS = [arg for arg in sys.argv[1:] if arg != ONE_CRAWL]
PAGES = int(_ARGS[0]) if _ARGS else 3000
CRAWLS = int(_ARGS[1]) if len(_ARGS) > 1 else 3


class BenchSpider(Spider):
    name = "bench"


def drive(coro) -> None:
    """Run a coroutine that must not suspend (steady state: everything cached)."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("process_request suspended: the benchmark is not in steady state")


def call_as_scrapy(method, request) -> None:
    """Call a ``process_request`` as Scrapy does: await its result only when there is one."""
    result = method(request)
    if result is not None:
        drive(result)


def time_per_request(methods, paths) -> float:
    """Median per-request time of calling *methods* in turn, over rounds of new requests.

    Each round times requests built just before it (not reused: Scrapy caches
    its URL parse per request object, which a crawl meets once).
    """
    best = []
    for round_number in range(ROUNDS):
        requests = [
            Request(f"https://bench.example/r{round_number}{paths[i % len(paths)]}")
            for i in range(PER_ROUND)
        ]
        gc.collect()
        start = time.perf_counter()
        for request in requests:
            for method in methods:
                call_as_scrapy(method, request)
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
    middleware.enforcer.robots_cache.put(("https", "bench.example", 443, None, None), result)
    # Steady state for the opt-out files too: the origin has no tdmrep.json (404).
    from crawler_compliance._hosts import canonicalize
    from crawler_compliance._sitefiles import FetchedFile

    files = middleware.enforcer.signal_files
    for need in files.needs(canonicalize("https://bench.example/"), result):
        files.supply(need, FetchedFile(need.url, 404))
    guard = ComplianceGuardMiddleware.from_crawler(crawler)
    guard.main = middleware
    return Both(middleware, guard)


class Both:
    """Our two middlewares, in Scrapy's order: decide (75), then the guard (990)."""

    def __init__(self, main, guard) -> None:
        self.main, self.guard = main, guard
        self.audit = main.enforcer.audit
        self.methods = (main.process_request, guard.process_request)


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


TIMES: dict[str, list[float]] = {"ours": [], "scrapy": []}
_DECIDED: dict[int, float] = {}  # request id -> time in ComplianceMiddleware, until the guard


def _timed(call, request, done) -> object:
    """Call *call(request)* as Scrapy does and pass *done* the time spent inside it.

    What is timed is the call itself and, when it returns an awaitable, the
    awaiting of it; not Scrapy's handling of the result between the two
    (``ensure_awaitable``), nor a coroutine layer of the timer's own. robots.txt
    fetches are not counted.
    """
    start = perf_counter()
    try:
        result = call(request)
    except BaseException:
        done(request, perf_counter() - start)
        raise
    called = perf_counter() - start
    if result is None:  # decided at once (our fast path)
        done(request, called)
        return None
    return _awaiting(result, called, request, done)


async def _awaiting(result, called: float, request, done) -> object:
    start = perf_counter()
    try:
        return await result
    finally:
        done(request, called + perf_counter() - start)


def _ours_decided(request, seconds: float) -> None:
    _DECIDED[id(request)] = seconds


def _ours_guarded(request, seconds: float) -> None:
    decided = _DECIDED.pop(id(request), None)
    if decided is not None and not request.url.endswith("/robots.txt"):
        TIMES["ours"].append(decided + seconds)  # the guard's share, on the same request


def _scrapys(request, seconds: float) -> None:
    if not request.url.endswith("/robots.txt"):
        TIMES["scrapy"].append(seconds)


class TimedCompliance(ComplianceMiddleware):
    def process_request(self, request):  # called as Scrapy calls it: no spider
        return _timed(super().process_request, request, _ours_decided)


class TimedGuard(ComplianceGuardMiddleware):
    def process_request(self, request):
        return _timed(super().process_request, request, _ours_guarded)


class TimedRobotsTxt(RobotsTxtMiddleware):
    def process_request(self, request):
        return _timed(super().process_request, request, _scrapys)


class _Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = ROBOTS if self.path == "/robots.txt" else b"<html>page</html>"
        if self.path == "/.well-known/tdmrep.json":  # no TDMRep file on this site
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CrawlSpider(Spider):
    name = "bench-crawl"

    def __init__(self, base: str = "", pages: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.base, self.pages = base, pages

    async def start(self):
        for n in range(self.pages):
            yield Request(f"{self.base}/articles/{n}?page={n % 5}", dont_filter=True)

    def parse(self, response):
        return None


def _serve(port_out: Connection) -> None:
    """The loopback site, in its own process (see :func:`real_crawl`)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    httpd.daemon_threads = True
    port_out.send(httpd.server_address[1])
    httpd.serve_forever(poll_interval=0.05)


def real_crawl(tmp: Path, pages: int) -> tuple[float, float, int]:
    """Median µs inside ours (middleware + guard) and Scrapy's RobotsTxtMiddleware, one crawl.

    The site runs in another process, as a crawled site does: in the crawl's
    own process its threads would take the GIL from the reactor thread
    whenever a middleware makes a system call (ours writes the audit record),
    and the figure would measure that contention instead of the middleware.
    """
    from scrapy.crawler import CrawlerProcess

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(send,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{receive.recv()}"
    process = CrawlerProcess(
        {
            "COMPLIANCE_POLICY_DIR": str(REPO / "policies"),
            "COMPLIANCE_AUDIT_LOG": str(tmp / "crawl-audit.jsonl"),
            "COMPLIANCE_PURPOSE": "research",
            "USER_AGENT": "ComplianceDemoBot/1.0",
            "ROBOTSTXT_OBEY": True,
            "DOWNLOADER_MIDDLEWARES": {
                f"{__name__}.TimedCompliance": 75,
                f"{__name__}.TimedGuard": 990,
                "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
                f"{__name__}.TimedRobotsTxt": 100,
            },
            "LOG_LEVEL": "ERROR",
            "LOG_INSTALL_ROOT_HANDLER": False,
            "TELNETCONSOLE_ENABLED": False,
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        },
    )
    process.crawl(CrawlSpider, base=base, pages=pages)
    process.start()
    server.terminate()
    server.join()
    return (
        statistics.median(TIMES["ours"]),
        statistics.median(TIMES["scrapy"]),
        len(TIMES["ours"]),
    )


def real_crawls(pages: int, crawls: int) -> list[tuple[float, float, int]]:
    """:func:`real_crawl` *crawls* times, each in a new process (the reactor runs once)."""
    runs = []
    for _ in range(crawls):
        done = subprocess.run(
            [sys.executable, __file__, ONE_CRAWL, str(pages)],
            capture_output=True,
            text=True,
            check=True,
        )
        ours_s, theirs_s, count = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append((ours_s, theirs_s, count))
    return runs


def main() -> int:
    if ONE_CRAWL in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(real_crawl(Path(tmp), PAGES)))
        return 0
    requests = [Request(f"https://bench.example{path}") for path in PATHS]
    with tempfile.TemporaryDirectory() as tmp:
        our_mw = ours(Path(tmp))
        theirs = scrapys()
        methods = {"ours": our_mw.methods, "scrapy": (theirs.process_request,)}
        for name in methods:  # warm-up
            for request in requests:
                for method in methods[name]:
                    call_as_scrapy(method, request)
        ours_s = time_per_request(methods["ours"], PATHS)
        theirs_s = time_per_request(methods["scrapy"], PATHS)
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
    runs = real_crawls(PAGES, CRAWLS)
    print(
        f"Real crawl, loopback server, {len(runs)} crawls of {runs[0][2]} page requests, "
        "median time inside process_request"
    )
    for number, (ours_c, theirs_c, _) in enumerate(runs, 1):
        print(
            f"  crawl {number}: crawler-compliance (middleware + guard) {ours_c * 1e6:6.2f} us, "
            f"Scrapy RobotsTxtMiddleware {theirs_c * 1e6:6.2f} us: {ours_c / theirs_c:5.2f}x"
        )
    ratio = statistics.median(ours_c / theirs_c for ours_c, theirs_c, _ in runs)
    print(f"  ratio ours / Scrapy's, median of the crawls: {ratio:8.2f}x (target: <= 2.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
