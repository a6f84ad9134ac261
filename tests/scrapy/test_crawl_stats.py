"""CrawlStats counts into Scrapy's stats collector exactly as its inc_value does."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler_compliance.scrapy._stats import CrawlStats


def collector(cls: type = MemoryStatsCollector) -> Any:
    return cls(get_crawler(Spider))


def test_counts_land_in_the_collector_at_once_as_inc_value_puts_them() -> None:
    ours, scrapys = collector(), collector()
    counter = CrawlStats(ours)
    for key, count, start in [("a", 1, 0), ("a", 1, 0), ("b", 5, 10), ("b", 2, 99), ("c", 1, 3)]:
        counter.inc_value(key, count, start)
        scrapys.inc_value(key, count, start)
        assert ours.get_stats() == scrapys.get_stats()  # readable mid-crawl, every count in
    assert ours.get_stats() == {"a": 2, "b": 17, "c": 4}


def test_stats_replaced_by_set_stats_are_the_ones_counted_into() -> None:
    stats = collector()
    counter = CrawlStats(stats)
    counter.inc_value("a")
    stats.set_stats({"kept": 1})
    counter.inc_value("a")
    assert stats.get_stats() == {"kept": 1, "a": 1}


class CountingStats(MemoryStatsCollector):
    """A collector with its own inc_value (as a Redis-backed one would have)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.calls: list[str] = []

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        self.calls.append(key)
        super().inc_value(key, count, start)


def test_a_collector_with_its_own_inc_value_has_it_called() -> None:
    stats = collector(CountingStats)
    CrawlStats(stats).inc_value("compliance/allowed")
    assert stats.calls == ["compliance/allowed"]
    assert stats.get_value("compliance/allowed") == 1


class RedirectingStats(MemoryStatsCollector):
    """A collector whose attribute lookup puts its counts elsewhere than ``_stats``."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.elsewhere: dict[str, Any] = {}

    def __getattribute__(self, name: str) -> Any:
        if name == "_stats":
            return object.__getattribute__(self, "elsewhere")
        return super().__getattribute__(name)


def test_a_collector_with_its_own_attribute_lookup_is_counted_through_it() -> None:
    stats = collector(RedirectingStats)
    CrawlStats(stats).inc_value("compliance/allowed")
    assert stats.get_value("compliance/allowed") == 1


def test_no_collector_counts_nothing_and_fails_nothing() -> None:
    CrawlStats(None).inc_value("compliance/allowed")


def test_an_inc_value_set_on_the_collector_itself_is_the_one_called() -> None:
    stats = collector()
    calls: list[str] = []
    stats.inc_value = lambda key, count=1, start=0, spider=None: calls.append(key)
    CrawlStats(stats).inc_value("compliance/allowed")
    assert calls == ["compliance/allowed"]
