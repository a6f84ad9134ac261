"""The last word before the downloader: nothing changed since the decision.

:class:`ComplianceMiddleware` decides early (priority 75), before other
middlewares touch the request, so that nothing is fetched on their behalf
before a decision either. But middlewares that run later may still change
where a request goes: ``DefaultHeadersMiddleware`` can add a ``Host``
header, ``HttpProxyMiddleware`` can set a proxy from the environment, a
custom middleware can rewrite the URL in place. This guard runs last (priority
990, just before the download handler) and asks the crawl's
:class:`ComplianceMiddleware` (found through Scrapy's public
``Crawler.get_downloader_middleware``) to re-check: a URL not the one
decided is denied, a changed ``Host`` header or proxy is decided again in
full, a ``User-Agent`` that is not the crawl's is denied, a moved download
slot is pinned back — each recorded in the same audit log.

A request that another middleware *replaces* (returns a new Request) is sent
back through the whole chain by Scrapy, so it is decided again from scratch.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured

from crawler_compliance._decision import Check, Outcome, Reason, RecordKind, decide
from crawler_compliance.scrapy._exceptions import RequestDenied

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.scrapy._middleware import ComplianceMiddleware


class ComplianceGuardMiddleware:
    """Deny a request that changed, after its decision, in a way that matters."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.main: ComplianceMiddleware | None = None
        crawler.signals.connect(self.engine_started, signal=signals.engine_started)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceGuardMiddleware:
        if not crawler.settings.getbool("COMPLIANCE_ENABLED", True):
            # ComplianceMiddleware is off too (recorded by it): nothing to guard.
            raise NotConfigured("COMPLIANCE_ENABLED is False")
        return cls(crawler)

    def engine_started(self) -> None:
        self.main = self._find_main()

    def _find_main(self) -> ComplianceMiddleware | None:
        from crawler_compliance.scrapy._middleware import ComplianceMiddleware

        return self.crawler.get_downloader_middleware(ComplianceMiddleware)

    def process_request(
        self, request: Request, spider: Any = None
    ) -> Coroutine[Any, Any, None] | None:
        """Recheck *request* just before download (``None``: nothing changed, go on)."""
        main = self.main or self._find_main()
        if main is None:
            # Checks on but the deciding middleware missing (a project removed it):
            # nothing was decided, so nothing goes out.
            raise RequestDenied(
                decide(
                    request.url,
                    [
                        Reason(
                            Check.INTERNAL,
                            Outcome.DENY,
                            "ComplianceMiddleware is not installed: nothing was decided",
                        )
                    ],
                    kind=RecordKind.GUARD,
                )
            )
        self.main = main
        return main.recheck(request)
