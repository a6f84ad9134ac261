"""A loopback site, a shared policy directory and several real crawl workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.loopback import LoopbackServer, Received

REPO = Path(__file__).resolve().parents[2]

POLICY_YAML = """\
version: 1
crawler:
  product_token: TestBot
  purpose: search-indexing
"""

NOTICE_FOR_FAST = """\
id: fast-example-2026
issuer:
  name: Fast Example Ltd
  parent: null
received: 2026-01-01
status: active
demands:
  - stop-collection
scopes:
  - label: Fast Example
    kind: named-service
    domains:
      - fast.example
    brands: []
references: []
notes: a notice that arrives mid-crawl (test)
"""


def make_policy_dir(root: Path) -> Path:
    directory = root / "policies"
    (directory / "sites").mkdir(parents=True)
    shutil.copytree(REPO / "policies" / "notices", directory / "notices")
    (directory / "policy.yaml").write_text(POLICY_YAML)
    return directory


@dataclass(frozen=True)
class Hit:
    at: float  # time.time() when the request reached the site
    host: str
    path: str

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}"


@dataclass
class Site:
    """Two origins behind one loopback proxy; every hit timed on arrival."""

    server: LoopbackServer
    delays: dict[str, float]
    hits: list[Hit] = field(default_factory=list)

    @classmethod
    def build(cls, server: LoopbackServer, pages: dict[str, int], delays: dict[str, float]) -> Site:
        site = cls(server, delays)
        server.on_request = site._hit
        for host, count in pages.items():
            delay = delays.get(host)
            robots = "User-agent: *\nDisallow: /private/\n"
            if delay:
                robots += f"Crawl-delay: {delay}\n"
            server.route(host, "/robots.txt", body=robots)
            for n in range(count):
                links = [f"/p/{m}" for m in range(n + 1, min(n + 4, count))] + ["/private/x"]
                body = "".join(f'<a href="{link}">{link}</a>' for link in links)
                server.route(
                    host,
                    f"/p/{n}",
                    body=f"<html><body>{body}</body></html>",
                    headers={"Content-Type": "text/html"},
                )
        return site

    def _hit(self, received: Received) -> None:
        self.hits.append(Hit(time.time(), received.host, received.path))

    def pages(self, host: str) -> list[Hit]:
        return [h for h in self.hits if h.host == host and h.path != "/robots.txt"]

    def robots_fetches(self, host: str) -> int:
        return sum(1 for h in self.hits if h.host == host and h.path == "/robots.txt")

    def closest(self, host: str) -> list[Hit]:
        hits = sorted(self.pages(host), key=lambda h: h.at)
        pairs = list(zip(hits, hits[1:], strict=False))
        return list(min(pairs, key=lambda p: p[1].at - p[0].at)) if pairs else []

    def min_gap(self, host: str) -> float:
        times = sorted(h.at for h in self.pages(host))
        return min((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf"))


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    configs: list[dict[str, Any]]

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            left = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(left)
            except subprocess.TimeoutExpired:
                self.kill_all()
                raise AssertionError(f"worker {proc.pid} did not finish in {timeout}s") from None

    def kill(self, index: int) -> None:
        os.kill(self.procs[index].pid, signal.SIGKILL)
        self.procs[index].wait()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def stats(self, index: int) -> dict[str, Any]:
        path = Path(self.configs[index]["stats"])
        if not path.exists():
            return {}
        return dict(json.loads(path.read_text()))

    def log(self, index: int) -> str:
        path = Path(self.configs[index]["log_file"])
        return path.read_text() if path.exists() else ""


def start_workers(
    count: int, root: Path, *, redis_url: str, proxy: str, policy_dir: Path, **config: Any
) -> Workers:
    procs, configs = [], []
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_")}
    for n in range(count):
        conf = {
            "worker": f"worker{n}",
            "redis_url": redis_url,
            "proxy": proxy,
            "policy_dir": str(policy_dir),
            "stats": str(root / f"stats{n}.json"),
            "log_file": str(root / f"worker{n}.log"),
            "audit_log": str(root / f"audit-worker{n}.jsonl"),
            **config,
        }
        path = root / f"worker{n}.json"
        path.write_text(json.dumps(conf))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.cluster.worker", str(path)], cwd=REPO, env=env
            )
        )
        configs.append(conf)
    return Workers(procs, configs)


def push_start_urls(redis_url: str, urls: list[str]) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.rpush("cluster:start_urls", *urls)
    client.close()


def committed_rows(admin_dsn: str) -> list[tuple[dict[str, Any], float]]:
    """Every audit row: (record, committed_at as a time.time() value)."""
    import psycopg

    with psycopg.connect(admin_dsn) as conn:
        rows = conn.execute(
            "SELECT line, extract(epoch FROM committed_at) FROM crawler_compliance.records"
        ).fetchall()
    return [(json.loads(bytes(line)), float(at)) for line, at in rows]


def unaudited(hits: list[Hit], rows: list[tuple[dict[str, Any], float]]) -> list[Hit]:
    """Hits with no allow record committed before them."""
    first_commit: dict[str, float] = {}
    for record, at in rows:
        if record["verdict"] == "allow":
            url = record["url"]
            first_commit[url] = min(at, first_commit.get(url, at))
    return [h for h in hits if not first_commit.get(h.url, float("inf")) < h.at]
