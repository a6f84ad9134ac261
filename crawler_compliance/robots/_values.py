"""Crawl-delay and Request-rate, read defensively and clamped.

Neither is in RFC 9309 (§2.2.4 lets crawlers interpret other records), but
sites use them and crawlers should honour them. A site's value must never
crash or stall a crawl: negative, NaN and unparsable values are ignored, and
anything above :data:`MAX_CRAWL_DELAY` (including ``inf`` and ``1e26``) is
clamped to it.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

#: The largest delay between requests we honour, in seconds. One request a
#: minute already makes a large site take weeks; a larger value is far more
#: often a typo or an attempt to stall crawlers than a considered wish.
MAX_CRAWL_DELAY = 60.0

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*/\s*(\d+(?:\.\d*)?)?\s*([smhd]?)", re.IGNORECASE)


class RequestRate(NamedTuple):
    """``Request-rate: 1/5`` means ``requests`` requests per ``seconds`` seconds."""

    requests: float
    seconds: float

    @property
    def delay(self) -> float:
        """Seconds to wait between requests, clamped to :data:`MAX_CRAWL_DELAY`."""
        return clamp_delay(self.seconds / self.requests)


def clamp_delay(value: float) -> float:
    return min(max(value, 0.0), MAX_CRAWL_DELAY)


def parse_crawl_delay(value: str) -> float | None:
    """Seconds, clamped; None when the value is not a non-negative number."""
    try:
        number = float(value.split()[0]) if value.strip() else math.nan
    except (ValueError, IndexError, OverflowError):
        return None
    if math.isnan(number) or number < 0:
        return None
    return clamp_delay(number)


def parse_request_rate(value: str) -> RequestRate | None:
    """``n/s``, ``n/Nm`` etc.; None when malformed or not positive."""
    found = _RATE.match(value)
    if not found:
        return None
    try:
        requests = float(found[1])
        seconds = float(found[2] or 1) * _UNITS[(found[3] or "s").lower()]
    except (ValueError, OverflowError):
        return None
    if not (requests > 0 and seconds > 0) or not math.isfinite(requests):
        return None
    # Keep the pair meaningful but bounded: at most one request per MAX_CRAWL_DELAY.
    seconds = (
        min(seconds, MAX_CRAWL_DELAY * requests)
        if math.isfinite(seconds)
        else (MAX_CRAWL_DELAY * requests)
    )
    return RequestRate(requests, seconds)
