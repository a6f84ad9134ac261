"""Crawl-delay through Scrapy's own download slots, not a second scheduler.

A robots.txt ``Crawl-delay`` for an origin becomes the delay of one download
slot that every request to that origin is pinned to (``download_slot`` meta,
re-pinned by the guard just before download), with no jitter and no
AutoThrottle adjustment. Scrapy's downloader then spaces the requests; the
middleware never sleeps.

Why pin the slot: Scrapy keys slots by host name or by a ``download_slot``
that a spider may set per request, so without pinning a spider could spread
one origin over many slots, each with its own clock. Why the per-slot
settings: Scrapy forgets an idle slot after a while and would recreate it
with the default delay; ``DOWNLOAD_SLOTS``-style settings survive that, so the
delay is never forgotten while it binds (the stale entries are pruned only
once their slot is gone and the delay long elapsed).
"""

from __future__ import annotations

import inspect
import time
from typing import TYPE_CHECKING, Any

from scrapy import Request

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

SLOT_PREFIX = "compliance:"
# Scrapy spaces requests by when they leave its queue; connection set-up can
# bring two arrivals at the server a few milliseconds closer than that. A
# small margin keeps every gap the server sees at least the Crawl-delay.
DELAY_MARGIN = 0.05
_PRUNE_EVERY = 1024


def _jitter_key() -> tuple[str, object]:
    """Scrapy 2.15+ names per-slot randomisation ``jitter``; older, ``randomize_delay``."""
    from scrapy.core.downloader import Slot

    if "jitter" in inspect.signature(Slot.__init__).parameters:
        return "jitter", 0.0
    return "randomize_delay", False


class SlotPoliteness:
    """Pins requests of origins with a Crawl-delay to one slot with that delay."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.floor = max(
            settings.getfloat("DOWNLOAD_DELAY"),
            float(getattr(crawler.spider, "download_delay", 0) or 0),
        )
        self._jitter_key, self._no_jitter = _jitter_key()
        self._last_used: dict[str, tuple[float, float]] = {}
        self._applied = 0

    @staticmethod
    def slot_key(origin: tuple[Any, ...]) -> str:
        scheme, host, port = origin[:3]
        return f"{SLOT_PREFIX}{scheme}://{host}:{port}"

    def apply(self, request: Request, origin: tuple[Any, ...], delay: float) -> str:
        """Pin *request* to its origin's slot and make that slot wait *delay* seconds."""
        key = self.slot_key(origin)
        delay = max(delay + DELAY_MARGIN, self.floor)
        request.meta["download_slot"] = key
        request.meta["autothrottle_dont_adjust_delay"] = True
        downloader = self.crawler.engine.downloader
        per_slot = downloader.per_slot_settings
        entry = per_slot.setdefault(key, {})
        entry["delay"] = delay
        entry[self._jitter_key] = self._no_jitter
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = delay
            if hasattr(slot, "jitter"):
                slot.jitter = 0.0
            else:
                slot.randomize_delay = False
        self._last_used[key] = (time.monotonic(), delay)
        self._applied += 1
        if self._applied % _PRUNE_EVERY == 0:
            self._prune(per_slot, downloader.slots)
        return key

    def repin(self, request: Request, key: str) -> None:
        """The guard's half: whatever changed the slot since the decision, undo it."""
        request.meta["download_slot"] = key
        request.meta["autothrottle_dont_adjust_delay"] = True

    def _prune(self, per_slot: dict[str, Any], slots: dict[str, Any]) -> None:
        now = time.monotonic()
        for key, (used, delay) in list(self._last_used.items()):
            if key not in slots and now - used > 2 * delay + 60:
                per_slot.pop(key, None)
                del self._last_used[key]
