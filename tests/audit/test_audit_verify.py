from __future__ import annotations

from pathlib import Path

import pytest

from crawler_compliance.audit import GENESIS_HASH, Checkpoint, verify_log
from crawler_compliance.audit._records import record_hash, rotation_marker
from tests.audit.audit_helpers import canonical_line, read_lines, rechain, records, write_log


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def test_an_intact_log_verifies(log_path: Path) -> None:
    log = write_log(log_path, 10)
    report = verify_log(log_path)
    assert report.ok and report.problem is None and not report.torn_tail
    assert (report.records, report.intact) == (10, 10)
    assert report.checkpoint[:2] == log.checkpoint[:2] == (report.last_seq, report.last_hash)
    assert report.files == [str(log_path)]
    assert verify_log(log_path, log.checkpoint).ok
    assert verify_log(log_path, str(log.checkpoint)).ok


def test_an_empty_log_verifies_but_not_against_a_checkpoint(log_path: Path) -> None:
    write_log(log_path, 0)
    report = verify_log(log_path)
    assert report.ok and report.records == 0 and report.last_hash == GENESIS_HASH
    report = verify_log(log_path, Checkpoint(1, "a" * 64))
    assert not report.ok and "truncated" in report.problem


def test_an_edited_verdict_is_detected(log_path: Path) -> None:
    write_log(log_path, 6)
    lines = read_lines(log_path)
    assert b'"verdict":"deny"' in lines[3]
    lines[3] = lines[3].replace(b'"verdict":"deny"', b'"verdict":"allow"')
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail
    assert "seq 4 was altered" in report.problem and f"{log_path}:4" in report.problem
    assert (report.intact, report.records, report.last_seq) == (3, 6, 3)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(log_path: Path) -> None:
    write_log(log_path, 6)
    recs = records(log_path)
    assert recs[3]["verdict"] == "deny"
    recs[3]["verdict"] = "allow"
    body = {k: v for k, v in recs[3].items() if k != "hash"}
    recs[3]["hash"] = record_hash(body)
    rewrite(log_path, [canonical_line(r) for r in recs])
    report = verify_log(log_path)
    assert not report.ok and report.intact == 4
    assert "seq 5 does not chain to seq 4" in report.problem


def test_swapped_records_are_reported_as_reordered(log_path: Path) -> None:
    write_log(log_path, 6)
    lines = read_lines(log_path)
    lines[2], lines[3] = lines[3], lines[2]
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and report.intact == 2
    assert "seq jumps from 2 to 4" in report.problem
    assert "seq 3 appears later" in report.problem and "reordered" in report.problem


def test_a_rechained_reordering_is_caught_by_its_timestamps(log_path: Path) -> None:
    write_log(log_path, 6)
    recs = records(log_path)
    recs[2], recs[3] = recs[3], recs[2]
    rewrite(log_path, rechain(recs))
    report = verify_log(log_path)
    assert not report.ok and report.intact == 3
    assert "before seq 3" in report.problem and "reordered" in report.problem


def test_a_deleted_middle_record_is_detected(log_path: Path) -> None:
    write_log(log_path, 6)
    lines = read_lines(log_path)
    del lines[2]
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and report.intact == 2 and report.records == 5
    assert "1 record(s) missing (deleted)" in report.problem
    assert "reordered" not in report.problem


def test_a_deleted_first_record_is_detected(log_path: Path) -> None:
    write_log(log_path, 4)
    rewrite(log_path, read_lines(log_path)[1:])
    report = verify_log(log_path)
    assert not report.ok and report.intact == 0
    assert "starts at seq 2" in report.problem


def test_truncation_is_detected_against_a_checkpoint(log_path: Path) -> None:
    log = write_log(log_path, 8)
    rewrite(log_path, read_lines(log_path)[:-3])
    assert verify_log(log_path).ok  # without a checkpoint a shorter chain is still a chain
    report = verify_log(log_path, log.checkpoint)
    assert not report.ok and not report.torn_tail
    assert report.problem.startswith("truncated")
    assert "ends at seq 5" in report.problem and "3 record(s) missing" in report.problem


def test_a_rewritten_log_does_not_match_the_checkpoint(log_path: Path) -> None:
    log = write_log(log_path, 5)
    recs = records(log_path)
    recs[1]["url"] = "https://www.example.com/something-else"
    rewrite(log_path, rechain(recs))
    report = verify_log(log_path, log.checkpoint)
    assert not report.ok
    assert "seq 5 does not match the checkpoint" in report.problem
    assert verify_log(log_path).ok  # internally consistent: only the anchor tells


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(lambda line: line[: len(line) // 2], id="half-a-line"),
        pytest.param(lambda line: line[:-1], id="no-newline"),
        pytest.param(lambda line: b"\0" * 300, id="nul-padding-after-power-loss"),
    ],
)
def test_a_torn_last_line_is_reported_as_a_crash(log_path: Path, tail) -> None:
    write_log(log_path, 5)
    lines = read_lines(log_path)
    lines[-1] = tail(lines[-1])
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and report.torn_tail
    assert report.intact == 4 and report.records == 4 and report.last_seq == 4
    assert "crashed mid-write" in report.problem and "4 record(s) before it" in report.problem


def test_a_torn_line_in_the_middle_is_damage_not_a_crash(log_path: Path) -> None:
    write_log(log_path, 5)
    lines = read_lines(log_path)
    lines[1] = lines[1][:30] + b"\n"
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and report.intact == 1
    assert "not a valid audit record" in report.problem


def test_a_blank_line_in_the_middle_is_damage(log_path: Path) -> None:
    write_log(log_path, 3)
    lines = read_lines(log_path)
    lines.insert(1, b"\n")
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and report.intact == 1


def test_a_torn_tail_and_a_truncation_report_the_truncation(log_path: Path) -> None:
    log = write_log(log_path, 5)
    lines = read_lines(log_path)[:3]
    lines.append(b'{"v":1,')
    rewrite(log_path, lines)
    report = verify_log(log_path, log.checkpoint)
    assert not report.ok and report.torn_tail
    assert report.problem.startswith("truncated") and "crashed" in report.problem


def test_a_rotated_set_of_files_verifies_as_one_chain(log_path: Path) -> None:
    log = write_log(log_path, 30, max_bytes=2500)
    report = verify_log(log_path, log.checkpoint)
    assert report.ok and report.intact == 30 and len(report.files) >= 4
    assert report.files[-1] == str(log_path)
    assert report.files[:-1] == sorted(report.files[:-1])


def test_a_missing_rotated_file_is_detected(log_path: Path) -> None:
    write_log(log_path, 30, max_bytes=2500)
    in_first = len(records(log_path.with_name("audit.jsonl.000001")))
    log_path.with_name("audit.jsonl.000002").unlink()
    report = verify_log(log_path)
    assert not report.ok and report.intact == in_first
    assert "does not continue" in report.problem
    assert "no file audit.jsonl.000002" in report.problem


def test_a_missing_oldest_file_is_detected(log_path: Path) -> None:
    write_log(log_path, 30, max_bytes=2500)
    log_path.with_name("audit.jsonl.000001").unlink()
    report = verify_log(log_path)
    assert not report.ok and report.intact == 0 and "starts at seq" in report.problem


def test_a_missing_live_file_after_rotation_is_reported(log_path: Path) -> None:
    write_log(log_path, 30, max_bytes=2500)
    log_path.unlink()
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and 0 < report.intact < 30
    assert "the live file is missing" in report.problem


def test_a_missing_live_file_mid_rotation_still_verifies_the_rest(log_path: Path) -> None:
    # Killed between the rotation's rename and creating the new live file:
    # the marker names the newest rotated file.
    write_log(log_path, 30, max_bytes=2500)
    following = int(sorted(log_path.parent.glob("audit.jsonl.0*"))[-1].suffix[1:]) + 1
    log_path.rename(log_path.with_name(f"audit.jsonl.{following:06d}"))
    rotation_marker(log_path).write_text(f"{following}\n")
    report = verify_log(log_path)
    assert report.ok and report.intact == 30


def test_no_log_at_all_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_log(tmp_path / "nothing.jsonl")


def test_an_unsupported_schema_version_is_reported(log_path: Path) -> None:
    write_log(log_path, 1)
    (rec,) = records(log_path)
    rec["v"] = 99
    rewrite(log_path, rechain([rec]))
    report = verify_log(log_path)
    assert not report.ok and "schema version 99" in report.problem


@pytest.mark.parametrize("text", ["", "12", "x:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64])
def test_bad_checkpoint_strings_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="SEQ:HASH"):
        Checkpoint.parse(text)
