"""A crawler killed with SIGKILL midway leaves a record of everything it fetched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler_compliance.audit import verify_log
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.crawl


def pages(server: LoopbackServer) -> list[str]:
    return [p for p in server.paths("slowsite.example") if p.startswith("/page/")]


def test_sigkill_midway_loses_no_record_of_a_fetch(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    for n in range(200):
        server.route("slowsite.example", f"/page/{n}", body="x", delay=0.05)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.scrapy.crawl_until_killed",
            server.proxy,
            str(policy_dir),
            str(audit_path),
        ],
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while len(pages(server)) < 20 and time.monotonic() < deadline:
            if child.poll() is not None:
                pytest.fail(f"crawler exited early with {child.returncode}")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    seen = pages(server)
    assert len(seen) >= 20
    lines = audit_path.read_bytes().split(b"\n")
    complete = [json.loads(line) for line in lines[:-1]]  # a torn tail may follow
    allowed = {r["url"] for r in complete if r["verdict"] == "allow"}
    missing = [p for p in seen if f"http://slowsite.example{p}" not in allowed]
    assert missing == []
    report = verify_log(audit_path)
    assert report.intact >= len(seen)
