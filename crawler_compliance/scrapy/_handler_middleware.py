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

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler_compliance._decision import Check, Outcome, Reason, RecordKind, decide
from crawler_compliance.scrapy._browser import (
    REDIRECT_HEADER,
    AbortBackstop,
    BrowserHook,
    PageInitCallback,
)
from crawler_compliance.scrapy._config import ComplianceConfigError
from crawler_compliance.scrapy._exceptions import RequestDenied
from crawler_compliance.scrapy._handlers import (
    IMPERSONATE_SAFE_ARGS,
    HandlerKind,
    context_conflict,
    context_kwargs,
    download_handlers,
    playwright_conflicts,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.scrapy._middleware import ComplianceMiddleware

logger = logging.getLogger(__name__)

# After the guard (990): it sees decided, unchanged requests, with the meta the
# download handler gets (a middleware between could otherwise add
# impersonate_args or replace the page init callback after the check).
BROWSER_MIDDLEWARE_PRIORITY = 995


def start_handlers(
    crawler: Crawler, main: ComplianceMiddleware
) -> tuple[dict[str, HandlerKind], BrowserHook | None]:
    """The start-up check of ``DOWNLOAD_HANDLERS``, run by :class:`ComplianceMiddleware`.

    Run by the deciding middleware itself, so a project that lists it by hand
    instead of using the add-on gets the check too. A refusal is recorded in
    the audit log (which is then released) and raised as
    :class:`ComplianceConfigError`: the crawl does not start.
    """
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
        with suppress(Exception):
            main.record(
                decide(
                    "*",
                    [Reason(Check.POLICY, Outcome.DENY, f"crawl not started: {exc}")],
                    kind=RecordKind.CONTROL,
                )
            )
        main.enforcer.close()
        raise
    logger.info(
        "crawler-compliance: download handlers %(kinds)s",
        {"kinds": {k: v.value for k, v in sorted(kinds.items())}},
    )
    hook = None
    if HandlerKind.PLAYWRIGHT in kinds.values():
        hook = BrowserHook(crawler, main)
        backstop = crawler.settings.get("PLAYWRIGHT_ABORT_REQUEST")
        assert isinstance(backstop, AbortBackstop)
        backstop.hook = hook
    return kinds, hook


class ComplianceHandlerMiddleware:
    """Per-request wiring of the browser hook, and scrapy-impersonate's meta checked.

    Enabled by the add-on at priority 995, just before the download handler.
    It finds the crawl's :class:`ComplianceMiddleware` (which ran the start-up
    check and holds the hook) through ``Crawler.get_downloader_middleware``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._main: ComplianceMiddleware | None = None
        crawler.signals.connect(self.engine_started, signal=signals.engine_started)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceHandlerMiddleware:
        if not crawler.settings.getbool("COMPLIANCE_ENABLED", True):
            raise NotConfigured("COMPLIANCE_ENABLED is False")
        return cls(crawler)

    def engine_started(self) -> None:
        self._find_main()

    def _find_main(self) -> ComplianceMiddleware | None:
        if self._main is None:
            from crawler_compliance.scrapy._middleware import ComplianceMiddleware

            self._main = self.crawler.get_downloader_middleware(ComplianceMiddleware)
        return self._main

    @property
    def main(self) -> ComplianceMiddleware:
        main = self._find_main()
        if main is None:  # the guard denies such requests already; never guess
            raise RequestDenied(
                decide(
                    "*",
                    [Reason(Check.INTERNAL, Outcome.DENY, "ComplianceMiddleware is not installed")],
                    kind=RecordKind.GUARD,
                )
            )
        return main

    @property
    def hook(self) -> BrowserHook | None:
        return self.main.browser_hook

    @property
    def impersonate(self) -> bool:
        return HandlerKind.IMPERSONATE in self.main.handler_kinds.values()

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
        decision = decide(
            request.url, [Reason(Check.URL, Outcome.DENY, message)], kind=RecordKind.GUARD
        )
        self.main.deny(request, self.main.record(decision))

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
