"""The one-line switch: ``ADDONS = {"crawler_compliance.Addon": 0}``."""

from __future__ import annotations

from typing import Any

# After OffsiteMiddleware (50), before Scrapy's RobotsTxtMiddleware (100) and
# everything that could send or alter a request (auth, proxy, cookies, cache).
MIDDLEWARE_PRIORITY = 75
# Last before the download handler: checks nothing changed since the decision.
GUARD_PRIORITY = 990


class Addon:
    """Scrapy add-on that enables :class:`ComplianceMiddleware` and its guard.

    The middlewares are put in ``DOWNLOADER_MIDDLEWARES`` even over a project
    entry that disables them (``None``): once the add-on is on, the only off
    switch is ``COMPLIANCE_ENABLED = False``, which is honoured, logged at
    WARNING and written to the audit log, so an unchecked crawl never goes
    unseen.
    """

    def update_settings(self, settings: Any) -> None:
        from crawler_compliance.scrapy._browser import AbortBackstop
        from crawler_compliance.scrapy._guard import ComplianceGuardMiddleware
        from crawler_compliance.scrapy._handler_middleware import (
            BROWSER_MIDDLEWARE_PRIORITY,
            ComplianceHandlerMiddleware,
        )
        from crawler_compliance.scrapy._handlers import (
            prepare_playwright_settings,
            uses_playwright,
        )
        from crawler_compliance.scrapy._middleware import ComplianceMiddleware

        settings.set("COMPLIANCE_ENABLED", True, priority="addon")
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ComplianceMiddleware, MIDDLEWARE_PRIORITY
        )
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ComplianceGuardMiddleware, GUARD_PRIORITY
        )
        # Download handlers that fetch through their own clients (browsers):
        # checked at start-up, and the browser hook wired per request.
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ComplianceHandlerMiddleware, BROWSER_MIDDLEWARE_PRIORITY
        )
        if uses_playwright(settings):
            prepare_playwright_settings(settings, AbortBackstop())
