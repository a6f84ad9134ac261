"""The PostgreSQL audit against a real server: append-only, one chain per worker, verifiable."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crawler_compliance._decision import Check, Outcome, Reason, decide
from crawler_compliance.audit import verify_log
from crawler_compliance.cli import main
from tests.cluster.conftest import AuditDatabase

psycopg = pytest.importorskip("psycopg")


def _decision(n: int, secret: str = "") -> object:
    url = f"http://site.example/page/{n}" + (f"?token={secret}" if secret else "")
    return decide(url, [Reason(Check.ROBOTS, Outcome.ALLOW, "robots.txt allows it")])


def _writer(db: AuditDatabase, **kwargs: object):  # type: ignore[no-untyped-def]
    from crawler_compliance.cluster import PgAuditLog

    return PgAuditLog(db.writer_dsn, **kwargs)  # type: ignore[arg-type]


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_records_commit_in_groups_and_verify(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = _writer(audit_db, worker="w1")
    records = [log.append(_decision(i), spider="s", purpose="research") for i in range(1000)]
    assert log.wait_committed(records[-1].seq, 30)
    assert log.commits < 200, "rows were committed one by one, not in groups"
    assert log.close()
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn)
    assert code == 0, out
    assert "1000 record(s), chain intact, closed" in out
    # Exported, each chain is a log the file verifier accepts, byte for byte.
    code, out = _run_cli(capsys, "audit", "export", "--dsn", audit_db.reader_dsn, str(tmp_path))
    assert code == 0, out
    (exported,) = tmp_path.glob("w1-*.jsonl")
    report = verify_log(exported)
    assert report.ok and report.intact == 1000
    assert report.checkpoint.hash == records[-1].hash
    first = json.loads(exported.read_bytes().splitlines()[0])
    assert first["url"] == "http://site.example/page/0" and first["seq"] == 1
    code, out = _run_cli(capsys, "audit", "verify", str(exported))
    assert code == 0 and "chain intact" in out


def test_the_database_refuses_update_delete_truncate(audit_db: AuditDatabase) -> None:
    log = _writer(audit_db)
    record = log.append(_decision(1))
    assert log.wait_committed(record.seq, 10)
    log.close()
    statements = [
        "UPDATE crawler_compliance.records SET line = 'x'",
        "DELETE FROM crawler_compliance.records",
        "TRUNCATE crawler_compliance.records",
        "UPDATE crawler_compliance.chains SET worker = 'x'",
        "DELETE FROM crawler_compliance.closes",
        "TRUNCATE crawler_compliance.closes CASCADE",
    ]
    for dsn, expect in (
        (audit_db.writer_dsn, "permission denied"),  # the crawler's role: INSERT only
        (audit_db.admin_dsn, "append-only"),  # the owner: the trigger
    ):
        for statement in statements:
            with psycopg.connect(dsn) as conn, pytest.raises(psycopg.Error) as failure:
                conn.execute(statement)
            assert expect in str(failure.value), (statement, str(failure.value))
    with psycopg.connect(audit_db.reader_dsn) as conn:
        (count,) = conn.execute("SELECT count(*) FROM crawler_compliance.records").fetchone()
    assert count == 1
    # The writer cannot read the trail back either.
    with psycopg.connect(audit_db.writer_dsn) as conn, pytest.raises(psycopg.Error):
        conn.execute("SELECT * FROM crawler_compliance.records")


def test_an_edited_row_is_found(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _writer(audit_db, worker="w")
    for i in range(5):
        log.append(_decision(i))
    log.close()
    # Only someone who can drop the trigger can edit: an administrator.
    with psycopg.connect(audit_db.admin_dsn) as conn:
        conn.execute("ALTER TABLE crawler_compliance.records DISABLE TRIGGER append_only_rows")
        conn.execute(
            "UPDATE crawler_compliance.records SET line = convert_to(replace("
            "convert_from(line, 'UTF8'), 'page/2', 'page/X'), 'UTF8') WHERE seq = 3"
        )
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn)
    assert code == 1
    assert "TAMPERED" in out and "seq 3" in out and "2 of 5 record(s) intact" in out


_KILLED_WORKER = """
import sys, time
from crawler_compliance._decision import decide
from crawler_compliance.cluster import PgAuditLog
log = PgAuditLog(sys.argv[1], worker="doomed")
for i in range(int(sys.argv[2])):
    rec = log.append(decide(f"http://site.example/{i}", []))
log.wait_committed(rec.seq, 30)
print("committed", rec.seq, flush=True)
time.sleep(60)
"""


def test_a_killed_worker_chain_verifies_up_to_its_last_commit_and_says_not_closed(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, audit_db.writer_dsn, "50"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split() == ["committed", "50"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn)
    assert code == 0, out
    assert "doomed" in out and "50 record(s), chain intact, NOT closed" in out
    assert "seq 50" in out


def test_requests_wait_while_postgres_is_down_and_nothing_is_lost(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _writer(audit_db, worker="patient")
    first = log.append(_decision(0))
    assert log.wait_committed(first.seq, 10)
    audit_db.server.stop()
    try:
        waiting = log.append(_decision(1))
        assert not log.wait_committed(waiting.seq, 1.5), "committed with the database down"
        assert log.error is not None
    finally:
        audit_db.server.start()
    assert log.wait_committed(waiting.seq, 20)
    assert log.close()
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn)
    assert code == 0 and "2 record(s), chain intact, closed" in out


def test_secrets_never_reach_the_database_or_the_output(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    log = _writer(audit_db, worker="w")
    log.append(_decision(1, secret="s3cr3t-t0ken"))
    log.close()
    with psycopg.connect(audit_db.admin_dsn) as conn:
        rows = conn.execute(
            "SELECT convert_from(line, 'UTF8') FROM crawler_compliance.records"
        ).fetchall()
    assert "s3cr3t-t0ken" not in str(rows)
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn)
    assert code == 0
    bad = audit_db.server.dsn("auditor", "wrong-password-xyz", audit_db.name)
    code, err = _run_cli(capsys, "audit", "verify", "--dsn", bad)
    assert code == 2 and "password authentication failed" in err
    for text in (out, err, caplog.text):
        assert audit_db.reader_password not in text and "wrong-password-xyz" not in text


def test_init_is_idempotent_and_needs_an_administrator(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run_cli(capsys, "audit", "init", "--dsn", audit_db.admin_dsn)
    assert code == 0 and "unchanged" in out
    code, out = _run_cli(capsys, "audit", "init", "--dsn", audit_db.writer_dsn)
    assert code == 2 and audit_db.writer_password not in out


def test_verify_takes_a_file_or_a_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run_cli(capsys, "audit", "verify")
    assert code == 2 and "give FILE or --dsn" in out
    code, out = _run_cli(capsys, "audit", "verify", "x.jsonl", "--dsn", "postgresql://h/db")
    assert code == 2


def test_start_fails_closed_without_the_schema(postgres_server: object) -> None:
    from crawler_compliance.audit import AuditLogError
    from crawler_compliance.cluster import PgAuditLog

    with pytest.raises(AuditLogError, match="audit init"):
        PgAuditLog(postgres_server.admin_dsn)  # type: ignore[attr-defined]


def test_the_tree_and_signed_checkpoints_are_the_file_logs(
    audit_db: AuditDatabase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from crawler_compliance.audit._note import Signer

    signer = Signer.generate("crawl.example/audit")
    log = _writer(audit_db, worker="signed", signer=signer, checkpoint_every=100)
    for i in range(250):
        log.append(_decision(i))
    assert log.close()
    assert log.last_checkpoint_note is not None and "\n250\n" in log.last_checkpoint_note
    key = signer.verifier().text
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn, "--key", key)
    assert code == 0, out
    # One after each commit that adds >= 100 rows, and at close (how many: how rows grouped).
    assert re.search(r"tree: [123] checkpoint\(s\), signed$", out, re.M), out
    # Exported: the log and its .checkpoints sidecar, as the file writer leaves them.
    assert _run_cli(capsys, "audit", "export", "--dsn", audit_db.reader_dsn, str(tmp_path))[0] == 0
    (exported,) = tmp_path.glob("signed-*.jsonl")
    code, out = _run_cli(capsys, "audit", "verify", str(exported), "--key", key)
    assert code == 0 and "signed" in out, out
    other = Signer.generate("crawl.example/audit").verifier().text
    code, out = _run_cli(capsys, "audit", "verify", "--dsn", audit_db.reader_dsn, "--key", other)
    assert code == 1, out
