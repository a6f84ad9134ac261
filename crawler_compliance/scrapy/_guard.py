"""The last word before the downloader: nothing changed since the decision.

:class:`ComplianceMiddleware` decides early (priority 75), before other
middlewares touch the request, so that nothing is fetched on their behalf
before a decision either. But middlewares that run later may still change
where a request goes: ``DefaultHeadersMiddleware`` can add a ``Host``
header, ``HttpProxyMiddleware`` can set a proxy from the environment, a
custom middleware can rewrite the URL in place. This guard runs last (priority
990, just before the download handler) and denies — recorded in the same
audit log — any request whose URL is not the one decided, whose ``Host``
header or proxy names a host under a cease-and-desist notice, or whose
``User-Agent`` (set by ``UserAgentMiddleware`` or a UA-rotating middleware
after the decision) is not the product token robots.txt was matched for.

A request that another middleware *replaces* (returns a new Request) is sent
back through the whole chain by Scrapy, so it is decided again from scratch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import NotConfigured

from crawler_compliance._decision import Check, Outcome, Reason, decide
from crawler_compliance.scrapy._middleware import _INSTANCES

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler_compliance.scrapy._middleware import ComplianceMiddleware


class ComplianceGuardMiddleware:
    """Deny a request that changed, after its decision, in a way that matters."""

    def __init__(self, main: ComplianceMiddleware) -> None:
        self.main = main

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ComplianceGuardMiddleware:
        main = _INSTANCES.get(crawler)
        if main is None:
            # ComplianceMiddleware is off (COMPLIANCE_ENABLED=False, recorded) or
            # not installed: there is nothing to guard.
            raise NotConfigured("ComplianceMiddleware is not enabled")
        return cls(main)

    def process_request(self, request: Request, spider: Any = None) -> None:
        main = self.main
        decided = request.meta.get("_compliance_decided")
        reasons: list[Reason] = []
        if not (
            isinstance(decided, tuple)
            and len(decided) == 3
            and decided[0] is main._own_marker
            and decided[1] == request.url
        ):
            what = "was never decided" if decided is None else "changed after it was decided"
            reasons.append(Reason(Check.URL, Outcome.DENY, f"the request URL {what}"))
        reasons.extend(main._user_agent_mismatch(request))
        hosts = tuple(main.route_hosts(request))
        if not reasons and hosts and decided is not None and hosts != decided[2]:
            # A Host header or proxy set after the decision: the registry decides it.
            _, _, found = main.checker.registry_reasons(
                request.url,
                extra_hosts=hosts,
                scrapy_safe=not request.meta.get("verbatim_url"),
            )
            reasons.extend(found)
        if not reasons:
            return None
        reasons.append(Reason(Check.URL, Outcome.INFO, "denied by the guard just before download"))
        decision = decide(request.url, reasons)
        main._record(decision)
        if request.meta.get("_compliance_own") is not main._own_marker:
            main._count("compliance/allowed", -1)  # counted when first decided
        main._deny(request, decision)
        return None
