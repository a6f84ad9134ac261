"""Per-origin robots.txt results: TTL, the last good copy, LRU eviction.

RFC 9309 §2.4: a fetched robots.txt may be used for at most 24 hours (the
result's ``expires_at`` already says how long), except that while the file is
unreachable the crawler should keep obeying the last copy it could read
rather than stop the crawl or, worse, ignore the site's rules. §2.3.1.4
suggests about 30 days for that; ``max_stale`` sets it. After that, the
unreachable result (disallow all) stands.

The cache has no I/O and takes its clock as an argument, so every rule is
testable without sleeping. It is bounded (LRU) because a broad crawl meets
millions of origins.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from crawler_compliance.robots._fetchstatus import RobotsResult

# (scheme, host, port), optionally followed by what else names the route
# (the Scrapy middleware adds the proxy): any tuple naming one robots.txt.
Origin = tuple[object, ...]


class RobotsCache:
    """``origin -> RobotsResult`` with expiry, a stale-if-unreachable rule and LRU eviction."""

    def __init__(
        self,
        max_origins: int = 10_000,
        *,
        clock: Callable[[], float] = time.time,
        max_stale: float = 30 * 86400,
        max_ttl: float = 86400,
    ) -> None:
        if max_origins < 1:
            raise ValueError("max_origins must be at least 1")
        self._max_ttl = max_ttl  # policy robots.cache_ttl: never more than 24 h
        self._max = max_origins
        self._clock = clock
        self._max_stale = max_stale
        # origin -> (result in force, last reachable result or None)
        self._entries: OrderedDict[Origin, tuple[RobotsResult, RobotsResult | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, origin: Origin) -> RobotsResult | None:
        """The result in force for ``origin``, or None when missing or expired."""
        with self._lock:
            entry = self._entries.get(origin)
            if entry is None:
                return None
            self._entries.move_to_end(origin)
            current = entry[0]
            if self._clock() >= current.expires_at:
                return None
            return current

    def put(self, origin: Origin, result: RobotsResult) -> RobotsResult:
        """Store a fresh fetch outcome and return the result to use.

        An unreachable outcome (5xx, timeout, network error...) does not
        replace a last good copy fetched less than ``max_stale`` seconds ago:
        that copy is returned, marked as stale, and kept until the next fetch
        (it expires with the unreachable result, so the crawler retries).
        """
        if result.expires_at > result.fetched_at + self._max_ttl:
            result = dataclasses.replace(result, expires_at=result.fetched_at + self._max_ttl)
        with self._lock:
            previous = self._entries.get(origin)
            last_good = previous[1] if previous else None
            use = result
            if result.reachable:
                last_good = result
            elif last_good is not None and self._clock() - last_good.fetched_at < self._max_stale:
                age_days = (self._clock() - last_good.fetched_at) / 86400
                use = dataclasses.replace(
                    last_good,
                    reason=f"stale copy fetched {age_days:.1f} days ago, used because "
                    f"robots.txt is now unreachable ({result.status}) (RFC 9309 §2.3.1.4, "
                    f"§2.4); it said: {last_good.reason}",
                    expires_at=result.expires_at,
                )
            self._entries[origin] = (use, last_good)
            self._entries.move_to_end(origin)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
            return use

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
