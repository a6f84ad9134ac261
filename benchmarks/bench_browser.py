"""Added time per rendered page from sub-resource decisions (scrapy-playwright).

Real crawls, real Chromium (Debian's, ``tools/ensure-chromium.sh``), a
loopback server as the browser's proxy. Each page embeds 40 sub-resources on
5 hosts (images, scripts, a stylesheet, a frame, XHR). The same pages are
rendered three ways:

- scrapy-playwright alone (no add-on): the browser fetches everything itself;
- with the add-on, all sub-resources allowed: each one decided, recorded and
  fetched through the hook's route;
- with the add-on, half of them on hosts under a notice: denied and aborted.

Robots.txt is fetched once per origin in each run (the first page pays it).
Prints milliseconds per page for each (best of three interleaved rounds, the
browser's start-up included) and the difference; asserts nothing.

Run: ``python benchmarks/bench_browser.py [pages]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import scrapy  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from tests.loopback import LoopbackServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
ROUNDS = 3
HOSTS = ["news.example", "cdn1.example", "cdn2.example", "static.example", "api.example"]


def page_html(n: int, covered: bool) -> str:
    hosts = HOSTS if not covered else [*HOSTS[:2], "www.youtube.com", "twitter.com", "x.com"]
    parts = ["<!doctype html><html><head>"]
    parts.append(f'<link rel="stylesheet" href="http://{hosts[1]}/s.css?p={n}">')
    for i in range(4):
        parts.append(f'<script src="http://{hosts[i % 5]}/s{i}.js?p={n}"></script>')
    parts.append("</head><body>")
    for i in range(32):
        parts.append(f'<img src="http://{hosts[i % 5]}/i{i}.png?p={n}">')
    parts.append(f'<iframe src="http://{hosts[3]}/frame?p={n}"></iframe>')
    parts.append(
        f"<script>fetch('http://{hosts[4]}/api?p={n}').catch(()=>{{}});"
        f"fetch('http://{hosts[2]}/api2?p={n}').catch(()=>{{}});</script>"
    )
    parts.append("</body></html>")
    return "".join(parts)


class PageSpider(scrapy.Spider):
    name = "bench-browser"

    def __init__(self, urls: list[str], proxy: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls, self.proxy, self.pages = urls, proxy, 0

    async def start(self):  # type: ignore[no-untyped-def]
        for url in self.urls:
            yield scrapy.Request(
                url, meta={"playwright": True, "proxy": self.proxy}, dont_filter=True
            )

    def parse(self, response):  # type: ignore[no-untyped-def]
        self.pages += 1


def settings_for(server: LoopbackServer, addon: bool, tmp: Path) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": CHROMIUM,
            "headless": True,
            "proxy": {"server": server.proxy},
            "args": ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        },
        "USER_AGENT": "TestBot/1.0 (+https://example.invalid/bot)",
        "CONCURRENT_REQUESTS": 4,
        "LOG_LEVEL": __import__("os").environ.get("BENCH_LOG", "ERROR"),
        "TELNETCONSOLE_ENABLED": False,
    }
    if addon:
        policy = tmp / f"policies-{time.monotonic_ns()}"
        (policy / "sites").mkdir(parents=True)
        shutil.copytree(REPO / "policies" / "notices", policy / "notices")
        (policy / "policy.yaml").write_text(
            "version: 1\ncrawler:\n  product_token: TestBot\n  purpose: search-indexing\n"
        )
        settings.update(
            ADDONS={"crawler_compliance.Addon": 0},
            COMPLIANCE_POLICY_DIR=str(policy),
            COMPLIANCE_AUDIT_LOG=str(tmp / f"audit-{time.monotonic_ns()}.jsonl"),
        )
    return settings


async def run(server: LoopbackServer, pages: int, addon: bool, covered: bool, tmp: Path) -> float:
    urls = [f"http://news.example/{'c' if covered else 'p'}{n}" for n in range(pages)]
    crawler = get_crawler(PageSpider, settings_for(server, addon, tmp))
    start = time.perf_counter()
    await crawler.crawl_async(urls=urls, proxy=server.proxy)
    elapsed = time.perf_counter() - start
    assert crawler.spider is not None and crawler.spider.pages == pages, "pages did not render"
    return elapsed / pages


def serve(server: LoopbackServer, pages: int) -> None:
    for host in [*HOSTS, "www.youtube.com", "twitter.com", "x.com"]:
        server.route(host, "/robots.txt", body="User-agent: *\nAllow: /\n")
    html = {"Content-Type": "text/html"}
    for n in range(pages):
        server.route("news.example", f"/p{n}", body=page_html(n, False), headers=html)
        server.route("news.example", f"/c{n}", body=page_html(n, True), headers=html)
    original = server._handle

    def handle(handler: Any) -> None:  # every sub-resource answers 200 with a small body
        path = handler.path.split("?")[0]
        host = (handler.headers.get("Host") or "").split(":")[0]
        if (host, path) not in server.routes and path != "/robots.txt":
            server.route(host, path, body=b"x" * 200)
        original(handler)

    server._handle = handle  # type: ignore[method-assign]


def main() -> None:
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor

    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    results: dict[str, float] = {}

    async def all_runs() -> None:
        with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
            serve(server, pages)
            await run(server, 2, False, False, Path(tmp))  # warm-up: browser start, caches
            for _ in range(ROUNDS):  # interleaved, best of ROUNDS: the machine is shared
                for label, addon, covered in [
                    ("scrapy-playwright alone", False, False),
                    ("with the add-on, all allowed", True, False),
                    ("with the add-on, half denied", True, True),
                ]:
                    per_page = await run(server, pages, addon, covered, Path(tmp))
                    results[label] = min(results.get(label, per_page), per_page)

    def done(_: Any) -> None:
        reactor.stop()  # type: ignore[attr-defined]

    d = deferred_from_coro(all_runs())
    d.addBoth(lambda r: (r, done(r))[0])
    d.addErrback(lambda f: f.printTraceback())
    reactor.run()  # type: ignore[attr-defined]
    if not results:
        raise SystemExit(1)
    base = results["scrapy-playwright alone"]
    print(
        f"pages: {pages} per crawl (browser start included), 40 sub-resources each, "
        f"CONCURRENT_REQUESTS=4, best of {ROUNDS}"
    )
    for label, per_page in results.items():
        extra = "" if label.endswith("alone") else f"  ({(per_page - base) * 1000:+.0f} ms/page)"
        print(f"{label:32s} {per_page * 1000:7.0f} ms/page{extra}")


if __name__ == "__main__":
    main()
