"""Crawl many slow pages through a proxy until the parent test SIGKILLs us.

Run as ``python -m tests.scrapy.crawl_until_killed PROXY POLICY_DIR AUDIT_LOG``.
"""

from __future__ import annotations

import sys

from scrapy.crawler import AsyncCrawlerProcess

from tests.scrapy.crawling import ListSpider, base_settings


def main() -> None:
    proxy, policy_dir, audit_log = sys.argv[1:4]
    settings = base_settings(
        policy_dir,
        audit_log,
        LOG_LEVEL="WARNING",
        CONCURRENT_REQUESTS=4,
        CONCURRENT_REQUESTS_PER_DOMAIN=4,
    )
    process = AsyncCrawlerProcess(settings)
    urls = [f"http://slowsite.example/page/{n}" for n in range(200)]
    process.crawl(ListSpider, urls=urls, proxy=proxy)
    process.start()


if __name__ == "__main__":
    main()
