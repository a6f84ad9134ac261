"""The browser hook: every request a scrapy-playwright page makes is decided first.

The page is one Scrapy request, decided by :class:`ComplianceMiddleware`. The
browser then loads the page's images, scripts, styles, frames, XHR, beacons
and WebSockets itself, outside Scrapy's downloader. For each of them, before it
leaves the browser, this hook asks :meth:`ComplianceMiddleware.decide_url`
(registry, site records and terms, the target origin's robots.txt through the
engine, once per origin, and the crawl's purpose), which records the decision
(with ``kind`` "subresource" and the ``page``) before returning. Denied
requests are aborted.

How each way out of the browser is covered:

- **Everything routed** (documents, frames, sub-resources, XHR/fetch,
  beacons, prefetches): a Playwright route on the page, installed through
  scrapy-playwright's ``playwright_page_init_callback`` (the project's own
  callback still runs, first). The route fetches the request itself with
  redirects off, so each redirect hop is decided before it is requested
  (Playwright's routes never see redirect hops); the browser gets the final
  response. The page's own navigation is not re-decided, but a redirect of it
  is handed back to Scrapy, whose ``RedirectMiddleware`` sends the target
  through the middlewares (decided) as a new rendered request.
- **Pages opened by the page** (``window.open``, ``target=_blank``): a route on
  the browser context decides them, and everything they load, for the page
  that opened them.
- **WebSockets**: WebSocket routes on the page and the context; a denied
  socket is closed before it connects.
- **Service workers**: blocked in every context (``service_workers="block"``).
- **navigator.sendBeacon**: disabled by an init script (a beacon sent while a
  page closes could outlive its route); ``<a ping>``: ``--no-pings``.
- **The browser's own traffic**: launch arguments (``BROWSER_ARGS``).
- **A request our route did not see** (a later middleware replaced the init
  callback, a future scrapy-playwright skips it): scrapy-playwright's own
  route calls ``PLAYWRIGHT_ABORT_REQUEST``, here a predicate that runs the
  project's predicate and then denies, recorded, whatever reached it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Headers
from scrapy.utils.misc import load_object

from crawler_compliance._decision import Check, Decision, Outcome, Reason, RecordKind, decide
from crawler_compliance._route import Route

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.scrapy._middleware import ComplianceMiddleware

logger = logging.getLogger(__name__)

# A redirect of the page's own navigation, handed back to Scrapy (the handler
# middleware's process_response turns it back into a Location).
REDIRECT_HEADER = "X-Crawler-Compliance-Location"
SUBRESOURCE = "subresource"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Beacons are fire-and-forget: one sent as a page closes may leave after the
# page's route is gone. Turned off in every frame of every page.
_NO_BEACON = """
(() => {
  try {
    Object.defineProperty(Navigator.prototype, "sendBeacon", {
      value: function sendBeacon() { return false; }, configurable: false, writable: false
    });
  } catch (e) {}
})();
"""


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


def _http_url(ws_url: str) -> str:
    """robots.txt and the registry speak of http(s) origins: ws -> http, wss -> https."""
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, *parts[1:]))


class AbortBackstop:
    """``PLAYWRIGHT_ABORT_REQUEST`` under the add-on: the project's predicate, then deny.

    scrapy-playwright's own route runs this predicate only for requests the
    hook's page route did not answer, which should not happen: whatever
    arrives here is recorded and aborted.
    """

    crawler_compliance_backstop = True

    def __init__(self) -> None:
        self.user_predicate: Any = None
        self.hook: BrowserHook | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> AbortBackstop:
        # Settings are deep-copied per crawler; the hook is bound afterwards.
        copy = AbortBackstop()
        copy.user_predicate = self.user_predicate
        return copy

    async def __call__(self, playwright_request: Any) -> bool:
        if self.user_predicate is not None:
            predicate = load_object(self.user_predicate)
            if await _maybe_await(predicate(playwright_request)):
                return True
        if self.hook is not None:
            await self.hook.record_unhooked(playwright_request)
        return True


@dataclass
class _PageState:
    request: Request  # the Scrapy request the page renders (decided)
    main_done: bool = False
    popup: bool = False  # a page the rendered page opened


class PageInitCallback:
    """The ``playwright_page_init_callback`` the hook puts in a rendered request's meta."""

    def __init__(self, hook: BrowserHook, user_callback: Any) -> None:
        self.hook = hook
        self.user_callback = user_callback

    async def __call__(self, page: Any, request: Request) -> None:
        try:
            if self.user_callback is not None:
                await load_object(self.user_callback)(page, request)
        finally:
            # Installed last, so it is the first route to run (Playwright runs the
            # newest first) and answers every request itself; installed even when
            # the project's callback fails (scrapy-playwright logs that and goes on).
            await self.hook.install(page, request)


class BrowserHook:
    """Per-crawl: the routes that decide a rendered page's requests."""

    def __init__(self, crawler: Crawler, main: ComplianceMiddleware) -> None:
        self.crawler = crawler
        self.main = main
        self.stats = crawler.stats
        settings = crawler.settings
        self.browser_type = settings.get("PLAYWRIGHT_BROWSER_TYPE") or "chromium"
        if "PLAYWRIGHT_PROCESS_REQUEST_HEADERS" in settings:
            value = settings["PLAYWRIGHT_PROCESS_REQUEST_HEADERS"]
            self.process_headers = None if value is None else load_object(value)
        else:
            from scrapy_playwright.headers import use_scrapy_headers

            self.process_headers = use_scrapy_headers
        self.user_abort = None
        backstop = settings.get("PLAYWRIGHT_ABORT_REQUEST")
        if isinstance(backstop, AbortBackstop) and backstop.user_predicate is not None:
            self.user_abort = load_object(backstop.user_predicate)
        self.max_redirects = settings.getint("REDIRECT_MAX_TIMES", 20)
        self.timeout_ms = settings.getfloat("DOWNLOAD_TIMEOUT", 180) * 1000
        self.pages: weakref.WeakKeyDictionary[Any, _PageState] = weakref.WeakKeyDictionary()
        self.contexts: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- installing ---------------------------------------------------------------

    async def install(self, page: Any, request: Request) -> None:
        state = _PageState(request)
        self.pages[page] = state
        context = page.context
        if context not in self.contexts:
            self.contexts.add(context)
            await context.add_init_script(_NO_BEACON)
            # Pages without a route of ours (popups) fall through to these.
            await context.route("**", self._context_route)
            await context.route_web_socket("**", self._context_websocket)
        await page.route_web_socket("**", lambda ws: self._websocket(state, ws))
        await page.route("**", lambda route, req: self._route(state, route, req))
        page.on("popup", lambda popup: self._adopt(popup, state))
        self.stats.inc_value("compliance/subresource/pages_hooked")

    def _adopt(self, popup: Any, opener: _PageState) -> None:
        """A page the rendered page opened: its requests are decided for the opener's page."""
        if popup not in self.pages:
            self.pages[popup] = _PageState(opener.request, main_done=True, popup=True)

    # -- deciding -------------------------------------------------------------------

    async def _decide(
        self,
        state: _PageState,
        url: str,
        resource_type: str | None,
        headers: dict[str, str] | None,
        redirected_from: str | None = None,
    ) -> Decision:
        page = state.request
        scrapy_headers = None
        if headers is not None:
            scrapy_headers = Headers(
                {k: v for k, v in headers.items() if k.lower() not in ("cookie", "referer")}
            )
        decision = await self.main.decide_url(
            url,
            page=page,
            kind=SUBRESOURCE,
            resource_type=resource_type,
            headers=scrapy_headers,
            redirected_from=redirected_from,
        )
        if not decision.allowed:  # compliance/subresource/allowed|denied: counted when recorded
            check = decision.deciding_check or Check.INTERNAL
            self.stats.inc_value(f"compliance/subresource/{check.value}/denied")
            logger.debug(
                "Denied by crawler-compliance (%(check)s): %(type)s %(url)s of %(page)s: "
                "%(reason)s",
                {
                    "check": check.value,
                    "type": resource_type,
                    "url": url,
                    "page": page,
                    "reason": decision.summary(),
                },
                extra={"spider": self.crawler.spider},
            )
        return decision

    async def record_unhooked(self, playwright_request: Any) -> None:
        """A request that reached scrapy-playwright's own route: denied, recorded."""
        self.stats.inc_value("compliance/subresource/unhooked_denied")
        page_url = None
        with suppress(Exception):
            page_url = playwright_request.frame.page.url
        decision = decide(
            playwright_request.url,
            [
                Reason(
                    Check.INTERNAL,
                    Outcome.DENY,
                    "the browser hook is not installed on this page (was "
                    "playwright_page_init_callback replaced after the decision?): fail closed",
                    extra=(("kind", SUBRESOURCE), ("page", page_url)),
                )
            ],
            kind=RecordKind.SUBRESOURCE,
        )
        self.main.record(decision)
        logger.error(
            "crawler-compliance: %(url)s was requested by a page the browser hook does not "
            "guard; aborted",
            {"url": playwright_request.url},
            extra={"spider": self.crawler.spider},
        )

    async def _headers(self, state: _PageState, playwright_request: Any) -> dict[str, str]:
        if self.process_headers is None:
            return dict(await playwright_request.all_headers())
        request = state.request
        headers = await _maybe_await(
            self.process_headers(
                browser_type_name=self.browser_type,
                playwright_request=playwright_request,
                scrapy_request_data={
                    "method": request.method,
                    "url": request.url,
                    "headers": request.headers,
                    "body": request.body,
                    "encoding": request.encoding,
                },
            )
        )
        return dict(headers)

    # -- routes ------------------------------------------------------------------------

    async def _route(self, state: _PageState, route: Any, playwright_request: Any) -> None:
        try:
            await self._answer(state, route, playwright_request)
        except Exception as exc:
            if "closed" not in str(exc):
                logger.error(
                    "crawler-compliance: browser route failed for %(url)s",
                    {"url": playwright_request.url},
                    exc_info=True,
                    extra={"spider": self.crawler.spider},
                )
            self.stats.inc_value("compliance/subresource/failed")
            with suppress(Exception):
                await route.abort("failed")

    async def _context_route(self, route: Any, playwright_request: Any) -> None:
        """A page the hook did not install itself on: a popup of one it did, or nothing."""
        state = self._popup_state(playwright_request)
        if state is None:
            with suppress(Exception):
                opener = await playwright_request.frame.page.opener()
                opener_state = self.pages.get(opener) if opener is not None else None
                if opener_state is not None:
                    state = _PageState(opener_state.request, main_done=True, popup=True)
                    self.pages[playwright_request.frame.page] = state
        if state is None:
            await self.record_unhooked(playwright_request)
            with suppress(Exception):
                await route.abort("blockedbyclient")
            return
        await self._route(state, route, playwright_request)

    def _popup_state(self, playwright_request: Any) -> _PageState | None:
        """The state of the page a request belongs to, if the hook knows it."""
        try:
            page = playwright_request.frame.page
        except Exception:
            page = None
        if page is not None:
            return self.pages.get(page)
        # A popup's first navigation is issued before its page exists: it is
        # attributed to the hooked page it names as Referer, or to the only
        # hooked page open in the context; otherwise it is denied.
        referer = playwright_request.headers.get("referer")
        open_pages = [
            (p, st) for p, st in list(self.pages.items()) if not p.is_closed() and not st.popup
        ]
        if referer:
            named = [
                st
                for p, st in open_pages
                if p.url == referer or st.request.url == referer or p.url.startswith(referer)
            ]
            if len(named) == 1:
                return _PageState(named[0].request, main_done=True, popup=True)
        if len(open_pages) == 1:
            return _PageState(open_pages[0][1].request, main_done=True, popup=True)
        return None

    async def _answer(self, state: _PageState, route: Any, playwright_request: Any) -> None:
        page_request = state.request
        url = playwright_request.url
        is_main = (
            not state.main_done
            and playwright_request.is_navigation_request()
            and playwright_request.frame.parent_frame is None
            and url.rstrip("/") == page_request.url.rstrip("/")
        )
        if self.user_abort is not None and await _maybe_await(self.user_abort(playwright_request)):
            self.stats.inc_value("playwright/request_count/aborted")
            await route.abort()
            return
        headers = await self._headers(state, playwright_request)
        method = playwright_request.method
        post_data = playwright_request.post_data_buffer
        if is_main:
            # Decided as the Scrapy request; sent the way scrapy-playwright sends it,
            # as long as it still identifies as the crawl robots.txt was read for.
            state.main_done = True
            agent = headers.get("user-agent")
            mismatch = self.main.enforcer.identity_reasons(
                Route(user_agents=(agent,) if agent else ())
            )
            if mismatch:
                decision = decide(
                    url,
                    [
                        *mismatch,
                        Reason(Check.URL, Outcome.INFO, "the page's navigation in the browser"),
                    ],
                    kind=RecordKind.SUBRESOURCE,
                )
                self.main.record(decision)
                await route.abort("blockedbyclient")
                return
            method = page_request.method
            if page_request.body:
                post_data = page_request.body
            page_request.headers.clear()
            page_request.headers.update(headers)
        else:
            decision = await self._decide(state, url, playwright_request.resource_type, headers)
            if not decision.allowed:
                await route.abort("blockedbyclient")
                return
        await self._fetch(state, route, playwright_request, is_main, method, headers, post_data)

    async def _fetch(
        self,
        state: _PageState,
        route: Any,
        playwright_request: Any,
        is_main: bool,
        method: str,
        headers: dict[str, str],
        post_data: bytes | None,
    ) -> None:
        """Fetch with redirects off; decide each hop before it is requested."""
        current = playwright_request.url
        response = await route.fetch(
            method=method,
            headers=headers,
            post_data=post_data,
            max_redirects=0,
            timeout=self.timeout_ms,
        )
        for _ in range(self.max_redirects + 1):
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                break
            target = urljoin(current, location)
            if is_main:
                # The page's own redirect goes back to Scrapy: RedirectMiddleware
                # makes it a new request, decided like any other.
                kept = {
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() not in ("location", REDIRECT_HEADER.lower(), "content-length")
                }
                kept[REDIRECT_HEADER] = target
                await route.fulfill(status=response.status, headers=kept, body=b"")
                return
            self.stats.inc_value("compliance/subresource/redirects")
            decision = await self._decide(
                state, target, playwright_request.resource_type, headers, redirected_from=current
            )
            if not decision.allowed:
                await route.abort("blockedbyclient")
                return
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, post_data = "GET", None
            current = target
            response = await playwright_request.frame.page.context.request.fetch(
                target,
                method=method,
                headers=headers,
                data=post_data,
                max_redirects=0,
                timeout=self.timeout_ms,
            )
        else:
            self.stats.inc_value("compliance/subresource/failed")
            await route.abort("failed")
            return
        if is_main:
            server_copy = {k for k in response.headers if k.lower() == REDIRECT_HEADER.lower()}
            if server_copy:
                headers_out = {k: v for k, v in response.headers.items() if k not in server_copy}
                await route.fulfill(response=response, headers=headers_out)
                return
        await route.fulfill(response=response)

    # -- WebSockets ----------------------------------------------------------------------

    async def _websocket(self, state: _PageState, ws: Any) -> None:
        decision = await self._decide(state, _http_url(ws.url), "websocket", None)
        if decision.allowed:
            ws.connect_to_server()
        else:
            await ws.close(code=1008, reason="denied by crawler-compliance")

    async def _context_websocket(self, ws: Any) -> None:
        # Only pages without a WebSocket route of their own get here.
        self.stats.inc_value("compliance/subresource/unhooked_denied")
        decision = decide(
            ws.url,
            [
                Reason(
                    Check.INTERNAL,
                    Outcome.DENY,
                    "WebSocket from a page the browser hook does not guard: fail closed",
                    extra=(("kind", SUBRESOURCE),),
                )
            ],
            kind=RecordKind.SUBRESOURCE,
        )
        self.main.record(decision)
        await ws.close(code=1008, reason="denied by crawler-compliance")
