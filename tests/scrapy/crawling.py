"""Run a real Scrapy crawl (``get_crawler`` + ``crawl_async``) and collect what a user sees."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scrapy
from scrapy.utils.test import get_crawler


class ListSpider(scrapy.Spider):
    """Requests the given URLs (optionally through a proxy) and records outcomes."""

    name = "list"

    def __init__(
        self,
        urls: list[str] = (),
        proxy: str | None = None,  # type: ignore[assignment]
        request_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.urls = list(urls)
        self.proxy = proxy
        self.request_kwargs = request_kwargs or {}
        self.responses: list[scrapy.http.Response] = []
        self.failures: list[Any] = []

    async def start(self):  # type: ignore[override]
        for url in self.urls:
            yield self.make(url)

    def make(self, url: str) -> scrapy.Request:
        kwargs = dict(self.request_kwargs)
        meta = dict(kwargs.pop("meta", {}))
        if self.proxy:
            meta.setdefault("proxy", self.proxy)
        return scrapy.Request(
            url, callback=self.parse, errback=self.failed, meta=meta, dont_filter=True, **kwargs
        )

    def parse(self, response: scrapy.http.Response) -> None:
        self.responses.append(response)

    def failed(self, failure: Any) -> None:
        self.failures.append(failure)


@dataclass
class CrawlResult:
    spider: ListSpider
    stats: dict[str, Any]
    audit_path: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def denied_urls(self) -> list[str]:
        return [f.request.url for f in self.spider.failures]

    @property
    def fetched_urls(self) -> list[str]:
        return [r.url for r in self.spider.responses]

    def decisions_for(self, url: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["url"] == url]


def base_settings(policy_dir: Path, audit_path: Path, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "ADDONS": {"crawler_compliance.Addon": 0},
        "COMPLIANCE_POLICY_DIR": str(policy_dir),
        "COMPLIANCE_AUDIT_LOG": str(audit_path),
        "USER_AGENT": "TestBot/1.0 (+https://example.invalid/bot)",
        "RETRY_TIMES": 1,
        "RETRY_ENABLED": True,
        "DOWNLOAD_TIMEOUT": 3,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "DEBUG",
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    }
    settings.update(extra)
    return settings


async def crawl(
    settings: dict[str, Any],
    urls: list[str],
    proxy: str | None = None,
    spider_cls: type[ListSpider] = ListSpider,
    **spider_kwargs: Any,
) -> CrawlResult:
    crawler = get_crawler(spider_cls, settings)
    await crawler.crawl_async(urls=urls, proxy=proxy, **spider_kwargs)
    audit_path = Path(settings.get("COMPLIANCE_AUDIT_LOG", "compliance-audit.jsonl"))
    records = []
    if audit_path.exists():
        records = [json.loads(line) for line in audit_path.read_text().splitlines() if line]
    assert crawler.stats is not None
    return CrawlResult(crawler.spider, crawler.stats.get_stats(), audit_path, records)  # type: ignore[arg-type]
