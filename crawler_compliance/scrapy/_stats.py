"""The crawl's stats collector as the enforcer's counter, at the cost of a dict update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scrapy.statscollectors import StatsCollector

__all__ = ["CrawlStats"]

_STOCK_INC_VALUE = StatsCollector.inc_value
_STOCK_GETATTRIBUTE = StatsCollector.__getattribute__  # Scrapy's shim, or object's
_attribute = object.__getattribute__
# Set on an instance, these change what Scrapy's inc_value does (the shim looks
# up "_cached_<name>" first).
_INSTANCE_OVERRIDES = frozenset({"inc_value", "_cached_inc_value", "_cached__stats"})


class CrawlStats:
    """Scrapy's stats collector seen as the enforcer's ``StatsSink``.

    Every decision is counted (``compliance/allowed``, ``compliance/denied``…)
    while the request waits. Scrapy's ``StatsCollector`` sends every attribute
    lookup through a ``__getattribute__`` that wraps its methods to warn about
    a deprecated ``spider`` argument; inside ``inc_value`` the lookup of the
    collector's own dict goes through it too, raising and catching an
    ``AttributeError`` each time. That costs more than the count itself.

    When the collector's ``inc_value`` is Scrapy's own, this does exactly what
    it does: it increments the key in the collector's dict, read afresh on
    every call (``set_stats`` may replace it), so a monitoring extension
    reading the stats mid-crawl sees every count at once. A collector with
    an ``inc_value`` or an attribute lookup of its own (Redis-backed, say)
    has its ``inc_value`` called.
    """

    __slots__ = ("collector", "inc_value")

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.inc_value: Callable[..., None] = _counter_of(collector)


def _counter_of(collector: Any) -> Callable[..., None]:
    if collector is None:  # a crawler without stats (hand-made): nothing to count into
        return _nowhere
    if not _is_stock(collector):
        inc: Callable[..., None] = collector.inc_value
        return inc

    def inc_value(key: str, count: int = 1, start: int = 0) -> None:
        stats = _attribute(collector, "_stats")
        stats[key] = stats.setdefault(key, start) + count

    return inc_value


def _is_stock(collector: Any) -> bool:
    """Scrapy's own ``inc_value`` and attribute lookup, its dict, nothing set on the instance."""
    cls = type(collector)
    if (
        getattr(cls, "inc_value", None) is not _STOCK_INC_VALUE
        or getattr(cls, "__getattribute__", None) is not _STOCK_GETATTRIBUTE
    ):
        return False
    try:
        _attribute(collector, "_stats")
        own = vars(collector)
    except (AttributeError, TypeError):  # not laid out as Scrapy's
        return False
    # Set on this collector, these are what Scrapy would call or read.
    return not (own.keys() & _INSTANCE_OVERRIDES)


def _nowhere(key: str, count: int = 1, start: int = 0) -> None:
    return None
