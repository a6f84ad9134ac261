"""Several real scrapy-redis workers with the add-on in cluster mode, one loopback site.

Each test runs a whole crawl and checks the guarantees a single process
gives, now across workers: one robots.txt fetch per origin, Crawl-delay
between any two requests to an origin, no page fetched before its audit row
was committed, every chain intact, even with workers and servers failing.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler_compliance.cluster import verify_chains
from tests.cluster.cluster import (
    NOTICE_FOR_FAST,
    Site,
    committed_rows,
    make_policy_dir,
    push_start_urls,
    start_workers,
    unaudited,
)
from tests.cluster.conftest import AuditDatabase
from tests.cluster.servers import RedisServer
from tests.loopback import LoopbackServer

pytestmark = pytest.mark.crawl

SLOW, FAST = "slow.example", "fast.example"
START = [f"http://{SLOW}/p/0", f"http://{FAST}/p/0"]


@pytest.fixture
def site() -> Iterator[Site]:
    with LoopbackServer() as server:
        yield Site.build(server, {SLOW: 12, FAST: 24}, {SLOW: 0.5, FAST: 0.2})


def _check_guarantees(site: Site, db: AuditDatabase) -> list[object]:
    for host, delay in site.delays.items():
        assert site.robots_fetches(host) == 1, f"{host}: robots.txt fetched more than once"
        assert site.min_gap(host) >= delay, (
            f"{host}: requests closer than Crawl-delay {delay}: {site.closest(host)}"
        )
    rows = committed_rows(db.admin_dsn)
    assert not unaudited(site.hits, rows), "fetched without a committed audit row first"
    assert not [h for h in site.hits if h.path.startswith("/private/")]
    verdicts = verify_chains(db.reader_dsn)
    problems = [v.problem or v.report.problem for v in verdicts]
    assert verdicts and all(v.ok for v in verdicts), problems
    return verdicts  # type: ignore[return-value]


def test_three_workers_keep_every_guarantee(
    tmp_path: Path, site: Site, redis_url: str, audit_db: AuditDatabase
) -> None:
    policy = make_policy_dir(tmp_path)
    push_start_urls(redis_url, START)
    workers = start_workers(
        3, tmp_path, redis_url=redis_url, proxy=site.server.proxy, policy_dir=policy,
        audit_dsn=audit_db.writer_dsn,
    )  # fmt: skip
    workers.wait()
    verdicts = _check_guarantees(site, audit_db)
    assert all(v.closed for v in verdicts) and len(verdicts) == 3  # type: ignore[attr-defined]
    # scrapy-redis shares the queue and the duplicate filter: each page once.
    for host, count in ((SLOW, 12), (FAST, 24)):
        paths = [h.path for h in site.pages(host)]
        assert sorted(paths) == sorted(f"/p/{n}" for n in range(count)), host
    stats = [workers.stats(n) for n in range(3)]
    assert sum(s.get("compliance/cluster/robots_fetched", 0) for s in stats) == 2
    assert sum(s.get("compliance/allowed", 0) for s in stats) >= 36
    assert not any(s.get("compliance/cluster/unavailable") for s in stats)
    for n in range(3):
        assert audit_db.writer_password not in workers.log(n)


def test_faults_keep_the_guarantees(
    tmp_path: Path,
    site: Site,
    redis_server: RedisServer,
    redis_url: str,
    audit_db: AuditDatabase,
) -> None:
    """kill -9 a worker, freeze Redis, stop PostgreSQL: slower, never less safe."""
    policy = make_policy_dir(tmp_path)
    # Every page a start URL: the requests a killed worker had taken are lost
    # with it (scrapy-redis does not hand them back), the others stay queued.
    push_start_urls(redis_url, [f"http://{host}/p/{n}" for host in (SLOW, FAST) for n in range(12)])
    workers = start_workers(
        3, tmp_path, redis_url=redis_url, proxy=site.server.proxy, policy_dir=policy,
        audit_dsn=audit_db.writer_dsn, idle=4, delay_margin=0.3,
    )  # fmt: skip
    try:
        _wait_for(lambda: len(site.pages(SLOW)) >= 2, 30)
        workers.kill(0)
        redis_server.freeze()
        time.sleep(2)
        redis_server.thaw()
        thawed_at = time.time()
        audit_db.server.stop()
        time.sleep(2)
        audit_db.server.start()
        workers.wait()
    finally:
        workers.kill_all()
    verdicts = _check_guarantees(site, audit_db)
    closed = {v.chain.worker: v.closed for v in verdicts}  # type: ignore[attr-defined]
    assert closed == {"worker0": False, "worker1": True, "worker2": True}, (closed, verdicts)
    # The crawl went on after the faults (the killed worker's popped requests are lost).
    assert [h for h in site.pages(SLOW) if h.at > thawed_at], [
        (round(h.at - thawed_at, 3), h.path) for h in site.pages(SLOW)
    ]


def test_a_policy_change_and_an_empty_redis_mid_crawl(
    tmp_path: Path,
    site: Site,
    redis_server: RedisServer,
    redis_url: str,
    audit_db: AuditDatabase,
) -> None:
    policy = make_policy_dir(tmp_path)
    push_start_urls(redis_url, START)
    workers = start_workers(
        2, tmp_path, redis_url=redis_url, proxy=site.server.proxy, policy_dir=policy,
        audit_dsn=audit_db.writer_dsn, idle=3,
    )  # fmt: skip
    try:
        _wait_for(lambda: len(site.pages(FAST)) >= 4, 30)
        (policy / "notices" / "fast-example-2026.yaml").write_text(NOTICE_FOR_FAST)
        subprocess.run(
            [str(Path(sys.executable).parent / "crawler-compliance"), "cluster",
             "publish-policy", str(policy), "--redis-url", redis_url],
            check=True, stdout=subprocess.DEVNULL, timeout=30,
        )  # fmt: skip
        published_at = time.time()
        time.sleep(1.5)
        redis_server.restart_empty()
        workers.wait()
    finally:
        workers.kill_all()
    # Within the check interval (0.5 s) plus one decision in flight, no more fast.example.
    late = [h for h in site.pages(FAST) if h.at > published_at + 1.5]
    assert not late, late
    rows = [record for record, _ in committed_rows(audit_db.admin_dsn)]
    fingerprints = {r["policy_fingerprint"] for r in rows}
    assert len(fingerprints) == 2
    denied_by_notice = [
        r for r in rows
        if r["host"] == FAST and any(x.get("rule") == "fast-example-2026" for x in r["reasons"])
    ]  # fmt: skip
    assert denied_by_notice
    for host, delay in site.delays.items():
        assert site.min_gap(host) >= delay, host
    assert not unaudited(site.hits, committed_rows(audit_db.admin_dsn))
    assert all(v.ok for v in verify_chains(audit_db.reader_dsn))


def _wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the crawl")
        time.sleep(0.05)
