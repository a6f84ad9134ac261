"""crawler-compliance: may this crawler fetch this URL? Decided before the fetch, recorded after.

The decision core is plain Python and imports neither Scrapy nor Twisted; the
Scrapy adapter (``Addon``, ``ComplianceMiddleware``) is imported lazily so that
``import crawler_compliance`` stays cheap and Scrapy-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler_compliance._decision import Check, Decision, Outcome, Reason, Verdict
from crawler_compliance._purpose import Purpose

if TYPE_CHECKING:
    from crawler_compliance.scrapy import (
        Addon,
        ComplianceGuardMiddleware,
        ComplianceMiddleware,
        RequestDenied,
    )

__all__ = [
    "Addon",
    "Check",
    "ComplianceGuardMiddleware",
    "ComplianceMiddleware",
    "Decision",
    "Outcome",
    "Purpose",
    "Reason",
    "RequestDenied",
    "Verdict",
]

_SCRAPY_NAMES = {"Addon", "ComplianceGuardMiddleware", "ComplianceMiddleware", "RequestDenied"}


def __getattr__(name: str) -> Any:
    if name in _SCRAPY_NAMES:
        from crawler_compliance import scrapy as _scrapy_adapter

        return getattr(_scrapy_adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
