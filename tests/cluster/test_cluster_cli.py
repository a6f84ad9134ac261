"""`cluster publish-policy`, `cluster status` and `audit report --dsn`, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler_compliance.cli import main
from crawler_compliance.policy import load_policy
from tests.cluster.cluster import make_policy_dir
from tests.cluster.conftest import AuditDatabase

CLI = str(Path(sys.executable).parent / "crawler-compliance")


def _cli(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_")}
    environment.update(env)
    return subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=60, env=environment)


def test_publish_then_status(tmp_path: Path, redis_url: str) -> None:
    policy = make_policy_dir(tmp_path)
    fingerprint = load_policy(policy).fingerprint
    key = "a-cluster-key-of-32-characters!!"
    status = _cli("cluster", "status", COMPLIANCE_REDIS_URL=redis_url, COMPLIANCE_REDIS_KEY=key)
    assert status.returncode == 0 and "(none published)" in status.stdout
    published = _cli(
        "cluster", "publish-policy", str(policy), COMPLIANCE_REDIS_URL=redis_url,
        COMPLIANCE_REDIS_KEY=key,
    )  # fmt: skip
    assert published.returncode == 0 and fingerprint in published.stdout
    status = _cli("cluster", "status", "--redis-url", redis_url, COMPLIANCE_REDIS_KEY=key)
    assert fingerprint in status.stdout
    # Signed with another key: refused, not believed.
    other = _cli("cluster", "status", "--redis-url", redis_url, COMPLIANCE_REDIS_KEY="x" * 32)
    assert other.returncode == 2 and "not stored by crawler-compliance" in other.stderr


def test_report_over_every_chain(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler_compliance._decision import Check, Outcome, Reason, decide
    from crawler_compliance.cluster import PgAuditLog

    for worker, verdict in (("w1", Outcome.ALLOW), ("w2", Outcome.DENY)):
        log = PgAuditLog(audit_db.writer_dsn, worker=worker)
        for n in range(3):
            log.append(decide(f"http://a.example/{n}", [Reason(Check.ROBOTS, verdict, "r")]))
        log.close()
    assert main(["audit", "report", "--dsn", audit_db.reader_dsn, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"records": 6' in out and '"allow": 3' in out and '"deny": 3' in out
    assert audit_db.reader_password not in out
