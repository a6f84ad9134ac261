from __future__ import annotations

import json
import re
from pathlib import Path

from crawler_compliance._decision import Check
from crawler_compliance.audit import AuditLog
from tests.audit.audit_helpers import make_decision, read_lines, ticking_clock, write_log


def test_verify_intact_exits_0_and_prints_the_checkpoint(log_path: Path, run_cli) -> None:
    log = write_log(log_path, 5)
    code, out, err = run_cli("audit", "verify", log_path)
    assert code == 0 and err == ""
    assert "OK:" in out and "5 record(s) in 1 file" in out
    assert f"checkpoint: {log.checkpoint}" in out
    code, out, _ = run_cli("audit", "verify", log_path, "--checkpoint", str(log.checkpoint))
    assert code == 0 and "reaches checkpoint seq 5" in out


def test_verify_tampered_exits_1(log_path: Path, run_cli) -> None:
    write_log(log_path, 5)
    lines = read_lines(log_path)
    lines[1] = lines[1].replace(b'"verdict":"deny"', b'"verdict":"allow"')
    log_path.write_bytes(b"".join(lines))
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 1
    assert out.startswith("TAMPERED: ") and "seq 2 was altered" in out
    assert "1 of 5 record(s) intact" in out


def test_verify_reordered_exits_1(log_path: Path, run_cli) -> None:
    write_log(log_path, 5)
    lines = read_lines(log_path)
    lines[1], lines[2] = lines[2], lines[1]
    log_path.write_bytes(b"".join(lines))
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 1 and "reordered" in out


def test_verify_truncated_against_checkpoint_exits_1(log_path: Path, run_cli) -> None:
    log = write_log(log_path, 5)
    log_path.write_bytes(b"".join(read_lines(log_path)[:3]))
    # The checkpoint sidecar written at close covers 5 records: it catches this...
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 1 and out.startswith("TRUNCATED: ") and "2 record(s) missing" in out
    # ...unless it is cut too: then only a checkpoint kept elsewhere does.
    log_path.with_name(log_path.name + ".checkpoints").unlink()
    assert run_cli("audit", "verify", log_path)[0] == 0
    code, out, _ = run_cli("audit", "verify", log_path, "--checkpoint", str(log.checkpoint))
    assert code == 1 and out.startswith("TRUNCATED: ") and "2 record(s) missing" in out


def test_verify_torn_tail_says_crash_and_counts_intact(log_path: Path, run_cli) -> None:
    write_log(log_path, 5)
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":6')
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 1
    assert out.startswith("TORN: ") and "crash" in out
    assert "5 of 5 record(s) intact" in out


def test_verify_json(log_path: Path, run_cli) -> None:
    write_log(log_path, 3)
    code, out, _ = run_cli("audit", "verify", log_path, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["intact"] == 3 and data["status"] == "OK"


def test_verify_usage_and_unreadable_exit_2(tmp_path: Path, log_path: Path, run_cli) -> None:
    code, _, err = run_cli("audit", "verify", tmp_path / "missing.jsonl")
    assert code == 2 and "cannot read" in err and "missing.jsonl" in err
    write_log(log_path, 1)
    code, _, err = run_cli("audit", "verify", log_path, "--checkpoint", "nope")
    assert code == 2 and "SEQ:HASH" in err
    code, _, _ = run_cli("audit", "verify")
    assert code == 2
    code, _, err = run_cli("audit", "verify", tmp_path)  # a directory
    assert code == 2 and "cannot read" in err


def make_mixed_log(path: Path) -> None:
    with AuditLog(path, clock=ticking_clock()) as log:
        log.append(make_decision("https://www.example.com/ok?token=abc"), spider="demo")
        log.append(
            make_decision(
                "https://www.youtube.com/watch",
                deny=True,
                host="www.youtube.com",
                check=Check.REGISTRY,
                rule="google-2024-03",
            ),
            spider="demo",
        )
        log.append(
            make_decision(
                "https://m.youtube.com/",
                deny=True,
                host="m.youtube.com",
                check=Check.REGISTRY,
                rule="google-2024-03",
            )
        )
        log.append(
            make_decision(
                "https://news.example/private",
                deny=True,
                host="news.example",
                rule="Disallow: /private",
            )
        )


def test_show_prints_a_table(log_path: Path, run_cli) -> None:
    make_mixed_log(log_path)
    code, out, err = run_cli("audit", "show", log_path)
    assert code == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["SEQ", "TIME", "VERDICT", "HOST", "CHECK", "REASON", "URL"]
    assert len(rows) == 4
    assert re.match(
        r"\s+1  2023-11-14 22:13:20Z\s+allow\s+www\.example\.com\s+robots\s+"
        r"allowed by robots\.txt \[Allow: /\]\s+"
        r"https://www\.example\.com/ok\?token=REDACTED-[0-9a-f]{12}$",
        rows[0],
    )
    assert "registry" in rows[1] and "[google-2024-03]" in rows[1]


def test_show_filters_denied_and_host(log_path: Path, run_cli) -> None:
    make_mixed_log(log_path)
    code, out, _ = run_cli("audit", "show", log_path, "--denied")
    assert code == 0 and len(out.splitlines()) == 4 and "allow " not in out
    code, out, _ = run_cli("audit", "show", log_path, "--host", "youtube.com")
    rows = out.splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["2", "3"]
    code, out, _ = run_cli("audit", "show", log_path, "--host", "M.YOUTUBE.COM", "--json")
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["seq"] == 3 and record["host"] == "m.youtube.com"


def test_show_skips_a_torn_tail_with_a_warning(log_path: Path, run_cli) -> None:
    make_mixed_log(log_path)
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,')
    code, out, err = run_cli("audit", "show", log_path)
    assert code == 0 and len(out.splitlines()) == 5
    assert "audit.jsonl:5: skipped (incomplete last line)" in err


def test_show_unreadable_exits_2(tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli("audit", "show", tmp_path / "missing.jsonl")
    assert code == 2 and out == "" and "cannot read" in err


def test_report_counts(log_path: Path, run_cli) -> None:
    make_mixed_log(log_path)
    code, out, _ = run_cli("audit", "report", log_path, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["records"] == 4
    assert data["verdicts"] == {"deny": 3, "allow": 1}
    assert data["denials_by_check"] == {"registry": 2, "robots": 1}
    assert data["denials_by_notice"] == {"google-2024-03": 2}
    assert data["hosts"]["www.youtube.com"] == {"allow": 0, "deny": 1}
    assert data["hosts"]["www.example.com"] == {"allow": 1, "deny": 0}
    assert data["chain"]["ok"] is True
    code, out, _ = run_cli("audit", "report", log_path)
    assert code == 0 and "chain: intact" in out
    assert re.search(r"google-2024-03\s+2", out) and re.search(r"www\.youtube\.com\s+1\s+0", out)


def test_report_on_a_broken_chain_exits_1(log_path: Path, run_cli) -> None:
    make_mixed_log(log_path)
    log_path.write_bytes(b"".join(read_lines(log_path)[1:]))
    code, out, _ = run_cli("audit", "report", log_path)
    assert code == 1 and "chain: TAMPERED" in out and "starts at seq 2" in out
