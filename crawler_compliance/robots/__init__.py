"""RFC 9309 robots.txt engine: exact verdicts, bounded cost, fetch-status rules.

Sans-I/O: the adapters fetch robots.txt and hand the outcome to
:func:`robots_from_fetch`; this package only decides. No Scrapy, no Twisted.
"""

from __future__ import annotations

from crawler_compliance.robots._cache import RobotsCache
from crawler_compliance.robots._decode import DEFAULT_MAX_BYTES
from crawler_compliance.robots._fetchstatus import (
    MAX_REDIRECTS,
    MAX_TTL,
    UNREACHABLE_TTL,
    RobotsKind,
    RobotsResult,
    robots_from_fetch,
)
from crawler_compliance.robots._pattern import path_pattern, pattern_length, url_path
from crawler_compliance.robots._robots import RobotsMatch, RobotsTxt, is_allowed
from crawler_compliance.robots._useragent import product_token
from crawler_compliance.robots._values import MAX_CRAWL_DELAY, RequestRate

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_CRAWL_DELAY",
    "MAX_REDIRECTS",
    "MAX_TTL",
    "UNREACHABLE_TTL",
    "RequestRate",
    "RobotsCache",
    "RobotsKind",
    "RobotsMatch",
    "RobotsResult",
    "RobotsTxt",
    "is_allowed",
    "path_pattern",
    "pattern_length",
    "product_token",
    "robots_from_fetch",
    "url_path",
]
