"""Fail closed: without Redis or PostgreSQL in time, requests are denied, counted, not sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import signals
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler

from crawler_compliance.audit import AuditLogError
from crawler_compliance.cluster import verify_chains
from tests.cluster.cluster import make_policy_dir
from tests.cluster.conftest import AuditDatabase
from tests.cluster.servers import free_port
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl

pytestmark = pytest.mark.crawl

URLS = [f"http://shop.example/item/{n}" for n in range(3)]


def _site(server: LoopbackServer) -> None:
    server.route("shop.example", "/robots.txt", body="User-agent: *\nAllow: /\n")
    for url in URLS:
        server.route("shop.example", url.split("shop.example")[1], body="item")


@deferred_f_from_coro_f
async def test_unreachable_redis_denies_with_a_reason_and_sends_nothing(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    settings = base_settings(
        make_policy_dir(tmp_path),
        audit,
        COMPLIANCE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        COMPLIANCE_CLUSTER_WAIT=0.3,
    )
    with LoopbackServer() as server:
        _site(server)
        result = await crawl(settings, URLS, proxy=server.proxy)
        assert server.received == []
    assert sorted(result.denied_urls) == URLS and not result.fetched_urls
    assert result.stats["compliance/cluster/policy_unconfirmed"] == 3
    assert result.stats["compliance/denied"] == 3
    for record in result.records:
        assert record["verdict"] == "deny"
        assert "cannot confirm the cluster's active policy version" in str(record["reasons"])


@deferred_f_from_coro_f
async def test_postgres_gone_after_start_denies_every_request(
    tmp_path: Path, audit_db: AuditDatabase, redis_url: str
) -> None:
    settings = base_settings(
        make_policy_dir(tmp_path),
        tmp_path / "unused.jsonl",
        COMPLIANCE_AUDIT_DSN=audit_db.writer_dsn,
        COMPLIANCE_CLUSTER_WAIT=0.5,
        COMPLIANCE_REDIS_URL=redis_url,
    )
    del settings["COMPLIANCE_AUDIT_LOG"]
    crawler = get_crawler(ListSpider, settings)

    def stop_postgres() -> None:
        audit_db.server.stop()

    crawler.signals.connect(stop_postgres, signal=signals.engine_started)
    with LoopbackServer() as server:
        _site(server)
        try:
            await crawler.crawl_async(urls=URLS, proxy=server.proxy)
        finally:
            audit_db.server.start()
        assert server.received == []  # not even robots.txt: its record never committed
    stats = crawler.stats.get_stats()  # type: ignore[union-attr]
    assert stats["compliance/cluster/audit_timeout"] >= 1
    assert stats.get("compliance/allowed", 0) == 0
    (chain,) = verify_chains(audit_db.reader_dsn)
    assert chain.ok and not chain.closed and chain.report.records == 0
    assert not (tmp_path / "unused.jsonl").exists()


@deferred_f_from_coro_f
async def test_no_database_at_start_means_no_crawl(tmp_path: Path) -> None:
    settings = base_settings(
        make_policy_dir(tmp_path),
        tmp_path / "a.jsonl",
        COMPLIANCE_AUDIT_DSN=f"postgresql://crawler:pw@127.0.0.1:{free_port()}/db",
    )
    del settings["COMPLIANCE_AUDIT_LOG"]
    with pytest.raises(AuditLogError, match="cannot start a chain") as failure:
        await get_crawler(ListSpider, settings).crawl_async(urls=URLS)
    assert "pw" not in str(failure.value).replace("postgresql", "")


def test_a_file_and_a_database_together_are_refused(tmp_path: Path) -> None:
    from crawler_compliance.cluster import ClusterConfigError
    from crawler_compliance.cluster._scrapy import ClusterPlug

    settings = get_crawler(
        ListSpider,
        base_settings(
            make_policy_dir(tmp_path), tmp_path / "a.jsonl", COMPLIANCE_AUDIT_DSN="postgresql://h/d"
        ),
    ).settings
    with pytest.raises(ClusterConfigError, match="COMPLIANCE_AUDIT_LOG and COMPLIANCE_AUDIT_DSN"):
        ClusterPlug.from_settings(settings, stats=None, redact_params=(), redact_key=None)
