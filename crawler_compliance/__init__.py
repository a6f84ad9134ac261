"""crawler-compliance: may this crawler fetch this URL? Decided before the fetch, recorded after.

The public API (every name a README example uses)::

    from crawler_compliance import Enforcer, crawl_identity, load_policy, decide_url

The decision core is plain Python and imports neither Scrapy nor Twisted;
names are imported lazily so that ``import crawler_compliance`` stays cheap,
and the Scrapy adapter (``Addon``, ``ComplianceMiddleware``) is only imported
when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crawler_compliance._decision import (
    Check,
    Decision,
    Outcome,
    Reason,
    RecordKind,
    Verdict,
    decide,
)
from crawler_compliance._purpose import Purpose
from crawler_compliance._version import __version__

if TYPE_CHECKING:
    from crawler_compliance._checker import ComplianceChecker, PreCheck
    from crawler_compliance._enforcement import AuditWriteFailed, Enforcer, OwnFetch, Plan
    from crawler_compliance._hosts import AmbiguousURL, CanonicalURL, UnfetchableURL, canonicalize
    from crawler_compliance._identity import Identity, crawl_identity
    from crawler_compliance._responses import ResponseObserver, ResponseView
    from crawler_compliance._route import Route, parse_host_header
    from crawler_compliance._sitefiles import CacheUse, FetchedFile, FetchError, FileNeed, SiteFile
    from crawler_compliance.audit import AuditLog, verify_log
    from crawler_compliance.cli._check import decide_url
    from crawler_compliance.policy import Policy, PolicyError, load_policy
    from crawler_compliance.scrapy import (
        Addon,
        ComplianceGuardMiddleware,
        ComplianceMiddleware,
        RequestDenied,
    )

_LAZY = {
    "ComplianceChecker": "crawler_compliance._checker",
    "PreCheck": "crawler_compliance._checker",
    "AuditWriteFailed": "crawler_compliance._enforcement",
    "Enforcer": "crawler_compliance._enforcement",
    "OwnFetch": "crawler_compliance._enforcement",
    "Plan": "crawler_compliance._enforcement",
    "AmbiguousURL": "crawler_compliance._hosts",
    "CanonicalURL": "crawler_compliance._hosts",
    "UnfetchableURL": "crawler_compliance._hosts",
    "canonicalize": "crawler_compliance._hosts",
    "Identity": "crawler_compliance._identity",
    "crawl_identity": "crawler_compliance._identity",
    "ResponseObserver": "crawler_compliance._responses",
    "ResponseView": "crawler_compliance._responses",
    "Route": "crawler_compliance._route",
    "parse_host_header": "crawler_compliance._route",
    "CacheUse": "crawler_compliance._sitefiles",
    "FetchedFile": "crawler_compliance._sitefiles",
    "FetchError": "crawler_compliance._sitefiles",
    "FileNeed": "crawler_compliance._sitefiles",
    "SiteFile": "crawler_compliance._sitefiles",
    "AuditLog": "crawler_compliance.audit",
    "verify_log": "crawler_compliance.audit",
    "decide_url": "crawler_compliance.cli._check",
    "Policy": "crawler_compliance.policy",
    "PolicyError": "crawler_compliance.policy",
    "load_policy": "crawler_compliance.policy",
    "Addon": "crawler_compliance.scrapy",
    "ComplianceGuardMiddleware": "crawler_compliance.scrapy",
    "ComplianceMiddleware": "crawler_compliance.scrapy",
    "RequestDenied": "crawler_compliance.scrapy",
}

__all__ = [
    "Addon",
    "AmbiguousURL",
    "AuditLog",
    "AuditWriteFailed",
    "CacheUse",
    "CanonicalURL",
    "Check",
    "ComplianceChecker",
    "ComplianceGuardMiddleware",
    "ComplianceMiddleware",
    "Decision",
    "Enforcer",
    "FetchError",
    "FetchedFile",
    "FileNeed",
    "Identity",
    "Outcome",
    "OwnFetch",
    "Plan",
    "Policy",
    "PolicyError",
    "PreCheck",
    "Purpose",
    "Reason",
    "RecordKind",
    "RequestDenied",
    "ResponseObserver",
    "ResponseView",
    "Route",
    "SiteFile",
    "UnfetchableURL",
    "Verdict",
    "canonicalize",
    "crawl_identity",
    "decide",
    "decide_url",
    "load_policy",
    "parse_host_header",
    "verify_log",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
