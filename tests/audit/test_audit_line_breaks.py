"""Hole 8: a record is one line for every line splitter, whatever its text holds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance.audit import AuditLog, iter_records, verify_log
from crawler_compliance.audit._records import legacy_canonical_json
from crawler_compliance.policy import load_policy
from crawler_compliance.robots import robots_from_fetch
from tests.audit.audit_helpers import make_decision, ticking_clock

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
# Every character str.splitlines() splits at.
BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@pytest.mark.parametrize("char", list(BREAKS), ids=[f"U+{ord(c):04X}" for c in BREAKS])
def test_a_robots_line_with_a_line_break_character_stays_one_record(
    tmp_path: Path, char: str
) -> None:
    checker = ComplianceChecker(load_policy(REPO / "policies"), clock=lambda: NOW)
    body = f"User-agent: *\nDisallow: /a{char}b # x{char}y\n".encode()
    decision = checker.decide("https://open.example/a", robots_from_fetch(status=200, body=body))
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.append(decision)
        log.append(make_decision(f"https://open.example/{char}?q={char}"))
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 2
    assert not any(c in text for c in BREAKS if c != "\n")
    assert text.count("\n") == 2
    assert [r["url"] for r in iter_records(path)][1] == f"https://open.example/{char}?q={char}"
    assert verify_log(path).ok


def test_a_log_written_before_the_escaping_still_verifies(tmp_path: Path) -> None:
    """Older writers wrote U+2028 raw and hashed that text: still intact."""
    import hashlib

    path = tmp_path / "audit.jsonl"
    with AuditLog(path, clock=ticking_clock()) as log:
        record = log.append(make_decision("https://open.example/\u2028")).record
    body = {k: v for k, v in record.items() if k != "hash"}
    data = legacy_canonical_json(body).encode()
    assert "\u2028".encode() in data
    digest = hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + b',"hash":"' + digest.encode() + b'"}\n')
    report = verify_log(path)
    assert report.ok, report.problem
    assert json.loads(path.read_bytes())["url"] == "https://open.example/\u2028"
