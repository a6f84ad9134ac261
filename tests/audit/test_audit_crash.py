"""A writer killed with SIGKILL loses no record it returned (flushed before return)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler_compliance.audit import verify_log

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# fsync is pushed far away: what must survive the kill is the write(2) alone
# (the page cache outlives the process; fsync is about power loss).
CHILD = textwrap.dedent("""
    import sys, time
    from crawler_compliance._decision import Check, Reason, decide
    from crawler_compliance.audit import AuditLog

    path, count = sys.argv[1], int(sys.argv[2])
    log = AuditLog(path, fsync_every=10**9, fsync_interval=10**9)
    decision = decide("https://example.com/?token=x",
                      [Reason(Check.ROBOTS, "allow", "allowed")], host="example.com")
    n = 0
    while count < 0 or n < count:
        record = log.append(decision)
        n += 1
        print(record.seq, record.hash, flush=True)
    print("done", flush=True)
    time.sleep(60)
""")


def spawn(path: Path, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout is not None
    proc.stdout.close()


def test_killed_after_n_appends_leaves_n_verifiable_records(log_path: Path) -> None:
    proc = spawn(log_path, 50)
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(51)]
    assert lines[-1] == "done\n"
    kill(proc)
    last_seq, last_hash = lines[-2].split()
    report = verify_log(log_path, f"{last_seq}:{last_hash}")
    assert report.ok, report.problem
    assert report.records == report.intact == 50


def test_killed_while_appending_keeps_every_returned_record(log_path: Path) -> None:
    proc = spawn(log_path, -1)
    assert proc.stdout is not None
    returned = [proc.stdout.readline().split() for _ in range(200)]
    kill(proc)
    seq, digest = returned[-1]
    # The child may have written more after the last line we read, and (rarely)
    # been killed inside a write: a torn tail is allowed, a lost record is not.
    report = verify_log(log_path, f"{seq}:{digest}")
    assert report.ok or (report.torn_tail and not report.problem.startswith("truncated")), (
        report.problem
    )
    assert report.intact >= int(seq)
