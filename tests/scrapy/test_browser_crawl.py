"""Rendering with scrapy-playwright: every request the browser makes is decided first.

Real crawls, real Chromium, the loopback multi-host server as the browser's
proxy: what the server received is what the browser sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from tests.loopback import LoopbackServer
from tests.scrapy.browser import browser_settings, require_chromium
from tests.scrapy.crawling import ListSpider, crawl

pytestmark = [pytest.mark.crawl, pytest.mark.browser]

ROBOTS = "User-agent: *\nDisallow: /private/\n"
COVERED = ("youtube.com", "twitter.com", "linkedin.com", "google.com", "googleapis.com")

ARTICLE = """<!doctype html>
<html><head>
<title>Article</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js"></script>
<script src="/private/tracker.js"></script>
<script src="http://www.youtube.com/iframe_api"></script>
</head><body>
<h1>Article</h1>
<img id="ok" src="/ok.png">
<img src="http://pbs.twimg.example/profile.png">
<img src="http://twitter.com/profile_images/1.png">
<img src="/private/photo.png">
<img src="/go-cdn">
<img src="/go-private">
<div class="bg" style="width:50px;height:50px;background-image:url('http://www.linkedin.com/bg.png')"></div>
<span class="x" style="display:inline-block;width:9px;height:9px"></span>
<iframe src="http://www.youtube.com/embed/abc"></iframe>
<iframe src="/private/frame.html"></iframe>
</body></html>
"""
APP_JS = """
document.addEventListener("DOMContentLoaded", () => {
  const p = document.createElement("p");
  p.id = "rendered";
  p.textContent = "rendered by script";
  document.body.appendChild(p);
  fetch("/private/api.json").catch(() => {});
  fetch("http://twitter.com/i/api/1").catch(() => {});
  fetch("/api/public.json").then(r => r.text()).then(t => {
    const q = document.createElement("p"); q.id = "xhr"; q.textContent = t;
    document.body.appendChild(q);
  }).catch(() => {});
});
"""


def _wait_for(selector: str, timeout: int):
    from scrapy_playwright.page import PageMethod

    return PageMethod("wait_for_selector", selector, timeout=timeout)


def serve_site(server: LoopbackServer) -> None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    png = {"Content-Type": "image/png"}
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/article", body=ARTICLE, headers=html)
    server.route(
        "news.example", "/app.js", body=APP_JS, headers={"Content-Type": "text/javascript"}
    )
    server.route(
        "news.example",
        "/style.css",
        body=".x{background:url(http://www.youtube.com/bg.png)}",
        headers={"Content-Type": "text/css"},
    )
    server.route("news.example", "/ok.png", body=b"PNG", headers={"Content-Type": "image/png"})
    server.route("news.example", "/api/public.json", body='{"ok": 1}')
    server.route("news.example", "/go-cdn", status=302, location="http://twitter.com/cdn.png")
    server.route("news.example", "/go-private", status=302, location="/private/moved.png")
    for host, path in [
        ("www.youtube.com", "/iframe_api"),
        ("www.youtube.com", "/embed/abc"),
        ("www.youtube.com", "/bg.png"),
        ("twitter.com", "/profile_images/1.png"),
        ("twitter.com", "/cdn.png"),
        ("twitter.com", "/i/api/1"),
        ("www.linkedin.com", "/bg.png"),
        ("news.example", "/private/tracker.js"),
        ("news.example", "/private/photo.png"),
        ("news.example", "/private/moved.png"),
        ("news.example", "/private/frame.html"),
        ("news.example", "/private/api.json"),
    ]:
        server.route(host, path, body="must never be fetched")
    server.route("pbs.twimg.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("pbs.twimg.example", "/profile.png", body=b"PNG", headers=png)


@deferred_f_from_coro_f
async def test_a_rendered_page_loads_nothing_from_covered_hosts_or_disallowed_paths(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    require_chromium()
    serve_site(server)
    page = "http://news.example/article"
    result = await crawl(
        browser_settings(server, policy_dir, audit_path),
        [page],
        proxy=server.proxy,
        # The page's fetch() answers after the load event: wait for what it writes.
        request_kwargs={
            "meta": {
                "playwright": True,
                "playwright_page_methods": [_wait_for("#xhr", timeout=20_000)],
            }
        },
    )

    # The page itself rendered (its script ran, its allowed XHR answered) and reached the spider.
    assert result.spider.failures == []
    [response] = result.spider.responses
    assert "playwright" in response.flags
    assert response.css("#rendered::text").get() == "rendered by script"
    assert response.css("#xhr::text").get() == '{"ok": 1}'

    # Not one request reached a covered host or a disallowed path: not from the
    # page, not from its scripts, not as a redirect hop, not from Chromium itself.
    received = [(r.host, r.path) for r in server.received]
    assert [h for h, _ in received if h.endswith(COVERED)] == []
    assert [p for h, p in received if h == "news.example" and p.startswith("/private/")] == []
    assert [t for t in server.tunnels if t.split(":")[0].endswith(COVERED)] == [], server.tunnels
    # What was allowed was fetched.
    assert ("news.example", "/ok.png") in received
    assert ("news.example", "/api/public.json") in received
    assert ("pbs.twimg.example", "/profile.png") in received
    assert ("news.example", "/go-cdn") in received  # the redirect itself, not its target

    # The audit log holds a deny record, marked as a sub-resource of the page, for each.
    subresources = {}
    for record in result.records:
        if record.get("kind") == "subresource":
            assert record["page"] == page
            subresources[record["url"]] = record["verdict"]
    denied = {
        "http://www.youtube.com/iframe_api",
        "http://www.youtube.com/embed/abc",
        "http://www.youtube.com/bg.png",
        "http://twitter.com/profile_images/1.png",
        "http://twitter.com/cdn.png",
        "http://twitter.com/i/api/1",
        "http://www.linkedin.com/bg.png",
        "http://news.example/private/tracker.js",
        "http://news.example/private/photo.png",
        "http://news.example/private/moved.png",
        "http://news.example/private/frame.html",
        "http://news.example/private/api.json",
    }
    assert {url for url, verdict in subresources.items() if verdict == "deny"} == denied
    for url in (
        "http://news.example/ok.png",
        "http://news.example/app.js",
        "http://news.example/style.css",
        "http://news.example/go-cdn",
        "http://pbs.twimg.example/profile.png",
    ):
        assert subresources.get(url) == "allow", url
    # The page's own record is the page's.
    [page_record] = [r for r in result.records if r["url"] == page]
    assert page_record["verdict"] == "allow"
    assert result.stats["compliance/subresource/denied"] >= len(denied)
    assert result.stats.get("compliance/subresource/unhooked_denied") is None


NEW_PAGE = """<!doctype html>
<html><head><title>New</title></head><body>
<img src="http://img.example/photo.png">
<img src="/blocked-by-project.png">
<p id="beacon"></p><p id="sw"></p>
<script>
  document.getElementById("beacon").textContent =
    String(navigator.sendBeacon("/beacon", "x"));
  window.open("http://www.youtube.com/popup");
  window.open("/popup-ok");
  try { new WebSocket("ws://twitter.com/socket"); } catch (e) {}
  const sw = navigator.serviceWorker;
  document.getElementById("sw").textContent = sw ? "available" : "blocked";
  if (sw) sw.register("/sw.js").catch(() => {});
</script>
</body></html>
"""
POPUP = (
    '<html><body><img src="http://twitter.com/from-popup.png"><img src="/popup.png"></body></html>'
)
project_predicate_calls: list[str] = []


def project_predicate(playwright_request) -> bool:
    """A project's own PLAYWRIGHT_ABORT_REQUEST: still called, still obeyed."""
    project_predicate_calls.append(playwright_request.url)
    return playwright_request.url.endswith("/blocked-by-project.png")


@deferred_f_from_coro_f
async def test_redirects_popups_sockets_beacons_workers_and_the_crawl_purpose(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    require_chromium()
    html = {"Content-Type": "text/html"}
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/old", status=302, location="/new")
    server.route("news.example", "/gone", status=302, location="http://twitter.com/moved")
    server.route("news.example", "/new", body=NEW_PAGE, headers=html)
    server.route("news.example", "/popup-ok", body=POPUP, headers=html)
    server.route("news.example", "/popup.png", body=b"PNG", headers={"Content-Type": "image/png"})
    # An image host that reserves AI training (contentsignals.org): fine for search, not here.
    server.route("img.example", "/robots.txt", body="User-agent: *\nContent-Signal: ai-train=no\n")
    server.route("img.example", "/photo.png", body=b"PNG", headers={"Content-Type": "image/png"})
    from scrapy_playwright.page import PageMethod

    project_predicate_calls.clear()
    settings = browser_settings(
        server,
        policy_dir,
        audit_path,
        COMPLIANCE_PURPOSE="ai-training",
        PLAYWRIGHT_ABORT_REQUEST=project_predicate,
    )
    meta = {"playwright": True, "playwright_page_methods": [PageMethod("wait_for_timeout", 700)]}
    result = await crawl(
        settings,
        ["http://news.example/old", "http://news.example/gone"],
        proxy=server.proxy,
        request_kwargs={"meta": meta},
    )

    # The page's own redirect went back to Scrapy: decided, then rendered at its target.
    [response] = result.spider.responses
    assert response.url == "http://news.example/new"
    assert response.css("#beacon::text").get() == "false"  # sendBeacon is switched off
    [failure] = result.spider.failures
    assert failure.request.url == "http://twitter.com/moved"
    assert [r for r in result.records if r["url"] == "http://twitter.com/moved"][0][
        "verdict"
    ] == "deny"

    received = [(r.host, r.path) for r in server.received]
    assert [h for h, _ in received if h.endswith(COVERED)] == []
    assert [t for t in server.tunnels if t.split(":")[0].endswith(COVERED)] == []
    assert ("img.example", "/photo.png") not in received  # the purpose binds sub-resources
    assert ("news.example", "/blocked-by-project.png") not in received
    assert ("news.example", "/beacon") not in received
    assert ("news.example", "/sw.js") not in received
    assert ("news.example", "/popup-ok") in received  # a popup of an allowed page, allowed
    assert ("news.example", "/popup.png") in received
    assert "http://news.example/blocked-by-project.png" in project_predicate_calls

    verdicts = {r["url"]: r["verdict"] for r in result.records if r.get("kind") == "subresource"}
    assert verdicts["http://img.example/photo.png"] == "deny"
    assert verdicts["http://www.youtube.com/popup"] == "deny"
    assert verdicts["http://twitter.com/from-popup.png"] == "deny"
    assert verdicts["http://twitter.com/socket"] == "deny"  # the WebSocket, as http
    assert verdicts["http://news.example/popup-ok"] == "allow"
    photo = [r for r in result.records if r["url"] == "http://img.example/photo.png"][0]
    assert any("ai-train=no" in (reason.get("rule") or "") for reason in photo["reasons"])


class ReplacesInitCallback:
    """A project middleware that runs after all of the add-on's and swaps the init callback."""

    def process_request(self, request, spider=None):  # type: ignore[no-untyped-def]
        async def own_callback(page, request):  # type: ignore[no-untyped-def]
            return None

        request.meta["playwright_page_init_callback"] = own_callback


@deferred_f_from_coro_f
async def test_a_page_without_the_hook_loads_nothing(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    require_chromium()
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/article", body=ARTICLE, headers={"Content-Type": "text/html"})
    settings = browser_settings(
        server,
        policy_dir,
        audit_path,
        DOWNLOADER_MIDDLEWARES={f"{__name__}.ReplacesInitCallback": 997},
        PLAYWRIGHT_DOWNLOAD_TIMEOUT=1000,
    )
    result = await crawl(
        settings,
        ["http://news.example/article"],
        proxy=server.proxy,
        request_kwargs={"meta": {"playwright": True}},
    )
    assert result.spider.responses == []
    assert [r.path for r in server.received] == ["/robots.txt"]  # the page was never sent
    unhooked = [r for r in result.records if r["url"] == "http://news.example/article"][-1]
    assert unhooked["verdict"] == "deny"
    assert "browser hook is not installed" in unhooked["reasons"][0]["message"]
    assert result.stats["compliance/subresource/unhooked_denied"] >= 1


@deferred_f_from_coro_f
async def test_one_request_per_host_at_a_time_does_not_stall_sub_resource_decisions(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    # The page holds its host's only download slot while it renders; the
    # robots.txt its sub-resource's origin needs must not queue behind it.
    require_chromium()
    server.route("a.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route("c.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    server.route(
        "a.example",
        "/p",
        body='<img src="http://c.example/i.png">',
        headers={"Content-Type": "text/html"},
    )
    server.route("c.example", "/i.png", body=b"PNG", headers={"Content-Type": "image/png"})
    settings = browser_settings(
        server,
        policy_dir,
        audit_path,
        CONCURRENT_REQUESTS_PER_DOMAIN=1,
        PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT=8_000,
    )
    result = await crawl(
        settings,
        ["http://a.example/p"],
        proxy=server.proxy,
        request_kwargs={"meta": {"playwright": True}},
    )
    assert result.spider.failures == []
    assert result.fetched_urls == ["http://a.example/p"]
    assert ("c.example", "/i.png") in {(r.host, r.path) for r in server.received}


@deferred_f_from_coro_f
async def test_a_page_the_browser_would_send_as_another_crawler_is_not_sent(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    # Without scrapy-playwright's header processing the browser sends its own
    # User-Agent (HeadlessChrome): not the product token robots.txt was read for.
    require_chromium()
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/article", body=ARTICLE, headers={"Content-Type": "text/html"})
    settings = browser_settings(
        server,
        policy_dir,
        audit_path,
        PLAYWRIGHT_PROCESS_REQUEST_HEADERS=None,
        PLAYWRIGHT_DOWNLOAD_TIMEOUT=1000,
    )
    result = await crawl(
        settings,
        ["http://news.example/article"],
        proxy=server.proxy,
        request_kwargs={"meta": {"playwright": True}},
    )
    assert result.spider.responses == []
    assert [r.path for r in server.received] == ["/robots.txt"]
    last = [r for r in result.records if r["url"] == "http://news.example/article"][-1]
    assert last["verdict"] == "deny"
    assert "not the crawl's 'TestBot'" in last["reasons"][0]["message"]


class ReusesPageSpider(ListSpider):
    """Renders the first URL, then the second in the same page (``playwright_page``)."""

    name = "reuses-page"

    def make(self, url: str):  # type: ignore[no-untyped-def]
        request = super().make(url)
        request.meta.update(playwright=True, playwright_include_page=True)
        return request

    async def start(self):  # type: ignore[no-untyped-def]
        yield self.make(self.urls[0])

    async def parse(self, response):  # type: ignore[no-untyped-def, override]
        self.responses.append(response)
        page = response.meta["playwright_page"]
        if len(self.responses) == 1:
            request = self.make(self.urls[1])
            request.meta["playwright_page"] = page
            yield request
        else:
            await page.close()


@deferred_f_from_coro_f
async def test_a_reused_page_is_still_guarded(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    require_chromium()
    html = {"Content-Type": "text/html"}
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/one", body='<img src="/ok.png">', headers=html)
    server.route(
        "news.example",
        "/two",
        body='<img src="http://twitter.com/a.png"><img src="/private/b.png"><img src="/ok2.png">',
        headers=html,
    )
    server.route("news.example", "/ok.png", body=b"PNG", headers={"Content-Type": "image/png"})
    server.route("news.example", "/ok2.png", body=b"PNG", headers={"Content-Type": "image/png"})
    result = await crawl(
        browser_settings(server, policy_dir, audit_path),
        ["http://news.example/one", "http://news.example/two"],
        proxy=server.proxy,
        spider_cls=ReusesPageSpider,
    )
    assert [r.url for r in result.spider.responses] == [
        "http://news.example/one",
        "http://news.example/two",
    ]
    received = [(r.host, r.path) for r in server.received]
    assert ("news.example", "/ok2.png") in received
    assert [h for h, _ in received if h == "twitter.com"] == []
    assert ("news.example", "/private/b.png") not in received
    verdicts = {r["url"]: r["verdict"] for r in result.records}
    assert verdicts["http://twitter.com/a.png"] == "deny"
    assert verdicts["http://news.example/private/b.png"] == "deny"
    assert result.stats.get("compliance/subresource/unhooked_denied") is None


ICONS = """<!doctype html>
<html><head><title>Icons</title>
<link rel="icon" href="/favicon.ico">
</head><body><p id="done">icons</p></body></html>
"""


@deferred_f_from_coro_f
async def test_the_browser_fetches_no_icon_on_its_own(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    """Chromium fetches favicons itself, and Playwright never routes them
    (microsoft/playwright#7493): its own network must reach nothing."""
    require_chromium()
    html = {"Content-Type": "text/html; charset=utf-8"}
    server.route("news.example", "/robots.txt", body=ROBOTS)
    server.route("news.example", "/icons", body=ICONS, headers=html)
    server.route("news.example", "/plain", body="<p id='done'>plain</p>", headers=html)
    for path in ("/favicon.ico", "/declared-icon.png", "/touch-icon.png"):
        server.route("news.example", path, body=b"ICO", headers={"Content-Type": "image/png"})
    server.route("www.youtube.com", "/favicon.ico", body="must never be fetched")
    pages = ["http://news.example/icons", "http://news.example/plain"]
    result = await crawl(
        browser_settings(server, policy_dir, audit_path),
        pages,
        proxy=server.proxy,
        request_kwargs={
            "meta": {
                "playwright": True,
                # Time for the browser's icon fetches, which come after the load event.
                "playwright_page_methods": [
                    _wait_for("#done", timeout=20_000),
                    _pause(1500),
                ],
            }
        },
    )
    assert result.spider.failures == []
    assert len(result.spider.responses) == 2
    # Whatever reached the server was decided, and allowed, first: an icon the
    # browser asked for through the page's route is; one it fetched on its own
    # (/favicon.ico for the page that declares none) must never arrive.
    allowed = {r["url"] for r in result.records if r["verdict"] == "allow"}
    fetched = [f"http://{r.host}{r.path}" for r in server.received if r.path.startswith("/")]
    assert [url for url in fetched if url not in allowed] == [], fetched
    assert "http://news.example/favicon.ico" not in fetched
    assert [r.host for r in server.received if r.host.endswith(COVERED)] == []
    assert [t for t in server.tunnels if t.split(":")[0].endswith(COVERED)] == [], server.tunnels


def _pause(milliseconds: int):
    from scrapy_playwright.page import PageMethod

    return PageMethod("wait_for_timeout", milliseconds)
