"""One crawl worker of a scrapy-redis cluster with the add-on in cluster mode.

Run as ``python -m tests.cluster.worker CONFIG.json``; the config names the
Redis URL, the audit DSN, the policy directory, the loopback proxy and where
to write the crawl's stats (JSON) when it ends.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import scrapy
from scrapy.crawler import AsyncCrawlerProcess
from scrapy_redis.spiders import RedisSpider


class ClusterSpider(RedisSpider):
    name = "cluster"

    def make_request_from_data(self, data: bytes) -> scrapy.Request:
        return self._request(data.decode())

    def _request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse, errback=self.failed, meta={"proxy": self.settings["PROXY"]}
        )

    def parse(self, response: Any) -> Any:
        for href in response.css("a::attr(href)").getall():
            yield self._request(response.urljoin(href))

    def failed(self, failure: Any) -> None:
        pass


def settings_for(config: dict[str, Any]) -> dict[str, Any]:
    settings = {
        "ADDONS": {"crawler_compliance.Addon": 0},
        "COMPLIANCE_POLICY_DIR": config["policy_dir"],
        "USER_AGENT": "TestBot/1.0 (+https://example.invalid/bot)",
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": config["redis_url"],
        "REDIS_PARAMS": {"socket_timeout": 10, "socket_connect_timeout": 5},
        "MAX_IDLE_TIME_BEFORE_CLOSE": config.get("idle", 2),
        "REDIS_START_URLS_BATCH_SIZE": config.get("start_batch", 1),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PROXY": config["proxy"],
        "DOWNLOAD_TIMEOUT": 5,
        "RETRY_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.get("log_level", "INFO"),
        "LOG_FILE": config.get("log_file"),
        "CONCURRENT_REQUESTS": config.get("concurrency", 8),
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "COMPLIANCE_WORKER_NAME": config["worker"],
        "COMPLIANCE_CLUSTER_WAIT": config.get("wait", 10),
        "COMPLIANCE_POLICY_CHECK_INTERVAL": config.get("policy_check", 0.5),
        # A frozen Redis blocks scrapy-redis's client, and with it the whole worker,
        # at any point of a request's way to the wire: the margin bounds that stall.
        "COMPLIANCE_CLUSTER_DELAY_MARGIN": config.get("delay_margin", 0.1),
    }
    if config.get("redis_state", True):
        settings["COMPLIANCE_REDIS_URL"] = config["redis_url"]
    if config.get("audit_dsn"):
        settings["COMPLIANCE_AUDIT_DSN"] = config["audit_dsn"]
    else:
        settings["COMPLIANCE_AUDIT_LOG"] = config["audit_log"]
    if not config.get("addon", True):
        settings["ADDONS"] = {}
    return settings


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    process = AsyncCrawlerProcess(settings_for(config))
    crawler = process.create_crawler(ClusterSpider)
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    with open(config["stats"], "w") as f:
        json.dump(crawler.stats.get_stats(), f, default=str)


if __name__ == "__main__":
    main()
