"""Hole 8: the writer never follows a symbolic link planted at one of its file names.

A link at the live log, at a rotated file or at the rotation marker would
make records be appended to, ``chmod`` or truncation applied to, the file it
points at. Each is refused with an AuditLogError, and the target is untouched.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crawler_compliance.audit import AuditLog, AuditLogError
from tests.audit.audit_helpers import make_decision, write_log

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")

VICTIM_TEXT = b"precious: must not be appended to, chmod-ed or truncated\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM_TEXT)
    path.chmod(0o644)
    return path


def untouched(victim: Path) -> bool:
    return victim.read_bytes() == VICTIM_TEXT and stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_link_at_the_live_log_is_refused(tmp_path: Path, victim: Path) -> None:
    log_path = tmp_path / "audit.jsonl"
    log_path.symlink_to(victim)
    with pytest.raises(AuditLogError, match="symbolic link"):
        AuditLog(log_path)
    assert untouched(victim)


def test_a_dangling_link_at_the_live_log_is_not_created_through(
    tmp_path: Path, victim: Path
) -> None:
    target = tmp_path / "elsewhere.jsonl"
    log_path = tmp_path / "audit.jsonl"
    log_path.symlink_to(target)
    with pytest.raises(AuditLogError, match="symbolic link"):
        AuditLog(log_path)
    assert not target.exists()


def test_a_link_at_a_rotated_file_is_never_chmod_ed(tmp_path: Path, victim: Path) -> None:
    log_path = tmp_path / "audit.jsonl"
    write_log(log_path, 3)
    (tmp_path / "audit.jsonl.000001").symlink_to(victim)
    with pytest.raises(AuditLogError, match="symbolic link"):
        AuditLog(log_path)
    assert untouched(victim)


def test_a_link_at_the_rotation_marker_is_never_truncated(tmp_path: Path, victim: Path) -> None:
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog(log_path, max_bytes=2000)
    log.append(make_decision("https://www.example.com/1"))
    (tmp_path / "audit.jsonl.rotating").symlink_to(victim)
    with pytest.raises(AuditLogError):
        for n in range(20):  # enough to need a rotation
            log.append(make_decision(f"https://www.example.com/{n}"))
    log.close()
    assert untouched(victim)


def test_a_live_log_swapped_for_a_link_is_not_renamed_at_rotation(
    tmp_path: Path, victim: Path
) -> None:
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog(log_path, max_bytes=2000)
    log.append(make_decision("https://www.example.com/1"))
    moved = tmp_path / "moved.jsonl"
    os.rename(log_path, moved)
    log_path.symlink_to(victim)
    with pytest.raises(AuditLogError):
        for n in range(20):
            log.append(make_decision(f"https://www.example.com/{n}"))
    log.close()
    assert untouched(victim)
    assert log_path.is_symlink()  # not renamed into the rotated files
    assert not (tmp_path / "audit.jsonl.000001").exists()


def test_a_link_planted_at_the_next_segment_name_is_skipped_not_replaced(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "audit.jsonl"
    with AuditLog(log_path, max_bytes=2000) as log:
        log.append(make_decision("https://www.example.com/0"))
        (tmp_path / "audit.jsonl.000001").symlink_to(tmp_path / "nowhere")
        for n in range(20):
            log.append(make_decision(f"https://www.example.com/{n}"))
    assert (tmp_path / "audit.jsonl.000001").is_symlink()
    assert not (tmp_path / "nowhere").exists()
    assert (tmp_path / "audit.jsonl.000002").is_file()
