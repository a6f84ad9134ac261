"""Download handlers at start-up, and the per-request wiring of the browser hook.

:class:`ComplianceHandlerMiddleware` is enabled by the add-on at priority 995
(after :class:`ComplianceMiddleware` decided and the guard re-checked, so it
sees the meta the download handler will see). At start-up it
checks every ``DOWNLOAD_HANDLERS`` entry (:mod:`._handlers`) and, when
scrapy-playwright renders, the settings the browser hook needs; per request it
puts the hook's page init callback and blocked service workers into a
rendered request's meta, and denies scrapy-impersonate meta that could change
what is fetched after the decision.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler_compliance._decision import Check, Outcome, Reason, decide
from crawler_compliance.scrapy._browser import (
    REDIRECT_HEADER,
    AbortBackstop,
    BrowserHook,
    PageInitCallback,
)
from crawler_compliance.scrapy._config import ComplianceConfigError
from crawler_compliance.scrapy._handlers import (
    IMPERSONATE_SAFE_ARGS,
    HandlerKind,
    context_conflict,
    context_kwargs,
    download_handlers,
    playwright_conflicts,
)
from crawler_compliance.scrapy._middleware import _INSTANCES

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.scrapy._middleware import ComplianceMiddleware

logger = logging.getLogger(__name__)

# After the guard (990): it sees decided, unchanged requests, with the meta the
# download handler gets (a middleware between could otherwise add
# impersonate_args or replace the page init callback after the check).
BROWSER_MIDDLEWARE_PRIORITY = 995


class ComplianceHandlerMiddleware:
    """Start-up check of ``DOWNLOAD_HANDLERS``; per-request wiring of the browser hook.

    Enabled by the add-on at priority 995, just before the download handler.
    """

    def __init__(
        self, crawler: Crawler, main: ComplianceMiddleware, kinds: dict[str, HandlerKind]
    ) -> None:
        self.main = main
        self.kinds = kinds
        self.hook: BrowserHook | None = None
        if HandlerKind.PLAYWRIGHT in kinds.values():
            self.hook = BrowserHook(crawler, main)
            backstop = crawler.settings.get("PLAYWRIGHT_ABORT_REQUEST")
            assert isinstance(backstop, AbortBackstop)
            backstop.hook = self.hook
        self.impersonate = HandlerKind.IMPERSONATE in kinds.values()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceHandlerMiddleware:
        main = _INSTANCES.get(crawler)
        if main is None:
            raise NotConfigured("ComplianceMiddleware is not enabled")
        try:
            kinds = download_handlers(crawler.settings)
            if HandlerKind.PLAYWRIGHT in kinds.values():
                problems = playwright_conflicts(crawler.settings, AbortBackstop)
                if problems:
                    raise ComplianceConfigError(
                        "scrapy-playwright cannot render under crawler-compliance: "
                        + "; ".join(problems)
                    )
        except ComplianceConfigError as exc:
            logger.error("crawler-compliance: %(error)s; the crawl will not start", {"error": exc})
            # The refusal is on the record, and the log is released (the
            # crawl ends here, before spider_closed could close it).
            with suppress(Exception):
                main._record(
                    decide("*", [Reason(Check.POLICY, Outcome.DENY, f"crawl not started: {exc}")])
                )
            main.audit.close()
            raise
        logger.info(
            "crawler-compliance: download handlers %(kinds)s",
            {"kinds": {k: v.value for k, v in sorted(kinds.items())}},
        )
        return cls(crawler, main, kinds)

    def process_request(self, request: Request, spider: Any = None) -> None:
        meta = request.meta
        if self.hook is not None and meta.get("playwright"):
            callback = meta.get("playwright_page_init_callback")
            if not isinstance(callback, PageInitCallback):
                meta["playwright_page_init_callback"] = PageInitCallback(self.hook, callback)
            if "playwright_context_kwargs" in meta:
                where = "request meta playwright_context_kwargs"
                problem = context_conflict(where, meta["playwright_context_kwargs"] or {})
                if problem and "service_workers" in problem:
                    self._deny(request, problem)
                meta["playwright_context_kwargs"] = context_kwargs(
                    meta["playwright_context_kwargs"]
                )
            else:
                meta["playwright_context_kwargs"] = context_kwargs(None)
        if self.impersonate and meta.get("impersonate"):
            unsafe = sorted(set(meta.get("impersonate_args") or {}) - IMPERSONATE_SAFE_ARGS)
            if unsafe:
                self._deny(
                    request,
                    f"impersonate_args {', '.join(unsafe)} could change what scrapy-impersonate "
                    "fetches after the decision",
                )
            if meta.get("impersonate_curl_options"):
                self._deny(
                    request,
                    "impersonate_curl_options: raw libcurl options could change the URL, the "
                    "host connected to or follow redirects after the decision",
                )
        return None

    def _deny(self, request: Request, message: str) -> None:
        decision = decide(request.url, [Reason(Check.URL, Outcome.DENY, message)])
        self.main._record(decision)
        self.main._count("compliance/allowed", -1)  # counted when first decided
        self.main._deny(request, decision)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        if self.hook is None or REDIRECT_HEADER.encode() not in response.headers:
            return response
        # The page's own redirect, handed back by the browser route (see _fetch):
        # RedirectMiddleware (600) sees a plain redirect and makes a new request.
        headers = response.headers.copy()
        target = headers.get(REDIRECT_HEADER)
        del headers[REDIRECT_HEADER]
        if "playwright" in response.flags and target:
            headers[b"Location"] = target
        return response.replace(headers=headers)
