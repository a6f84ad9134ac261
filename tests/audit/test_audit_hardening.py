"""Review findings: a moved-aside live file, byte-level edits, hostile files,
redaction gaps, permissions, overlong lines and complete-but-bad last lines."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from crawler_compliance.audit import AuditLog, AuditLogError, _writer, redact_url, verify_log
from crawler_compliance.audit._records import MAX_LINE_BYTES, rotation_marker
from tests.audit.audit_helpers import (
    canonical_line,
    make_decision,
    read_lines,
    rechain,
    records,
    write_log,
)


def segments_of(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(path.name + ".0*"))


# -- H2: a live file moved aside (or replaced) next to its rotated files ------


def test_a_torn_live_file_moved_aside_is_not_silently_continued(log_path: Path) -> None:
    write_log(log_path, 20, max_bytes=4000)
    assert len(segments_of(log_path)) >= 2
    with open(log_path, "ab") as f:  # a crash mid-write
        f.write(b'{"host":"example.com","offline":fa')
    with pytest.raises(AuditLogError, match="incomplete"):
        AuditLog(log_path, max_bytes=4000)
    # What the README used to suggest: move the file aside and restart.
    shutil.move(log_path, log_path.with_name("audit.jsonl.torn-evidence"))
    with pytest.raises(AuditLogError, match="NEW file name") as info:
        AuditLog(log_path, max_bytes=4000)
    assert "missing" in str(info.value)
    assert not log_path.exists()  # the refusal created nothing
    report = verify_log(log_path)
    assert not report.ok and "live file is missing" in report.problem


def test_an_empty_live_file_next_to_rotated_files_is_refused(log_path: Path) -> None:
    write_log(log_path, 20, max_bytes=4000)
    log_path.write_bytes(b"")
    with pytest.raises(AuditLogError, match="is empty"):
        AuditLog(log_path)
    report = verify_log(log_path)
    assert not report.ok and "live file is empty" in report.problem


def test_a_replaced_live_file_is_refused_and_reported(log_path: Path, tmp_path: Path) -> None:
    write_log(log_path, 20, max_bytes=4000)
    other = tmp_path / "other.jsonl"
    write_log(other, 2)
    shutil.copy(other, log_path)  # a fresh chain (seq 1, 2) in place of the live file
    with pytest.raises(AuditLogError, match="does not continue"):
        AuditLog(log_path)
    report = verify_log(log_path)
    assert not report.ok
    assert "live file does not continue the last rotated file" in report.problem


def test_rotation_leaves_a_marker_until_the_first_record_is_written(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = rotation_marker(log_path)
    seen: list[tuple[bool, int, str]] = []
    real_write = _writer._os_write

    def spy(fd: int, data) -> int:
        content = marker.read_text().strip() if marker.exists() else ""
        seen.append((marker.exists(), os.fstat(fd).st_size, content))
        return real_write(fd, data)

    monkeypatch.setattr(_writer, "_os_write", spy)
    log = AuditLog(log_path, max_bytes=2500, fsync_every=10**9, fsync_interval=10**9)
    while not segments_of(log_path):
        log.append(make_decision())
    # The write that starts the new live file happened with the marker in place,
    # naming the file the old live one became; it is gone once append returns.
    assert seen[-1] == (True, 0, str(int(segments_of(log_path)[-1].suffix[1:])))
    assert not any(exists for exists, _, _ in seen[:-1])
    assert not marker.exists()
    log.close()
    assert verify_log(log_path).ok


def test_reopen_after_a_crash_between_new_file_and_first_record(log_path: Path) -> None:
    write_log(log_path, 10, max_bytes=2500)
    following = int(segments_of(log_path)[-1].suffix[1:]) + 1
    rotation_marker(log_path).write_text(f"{following}\n")
    log_path.rename(log_path.with_name(f"audit.jsonl.{following:06d}"))
    log_path.touch()  # the new live file was created, then the writer died
    assert verify_log(log_path).ok
    with AuditLog(log_path, max_bytes=2500) as log:
        assert log.checkpoint.seq == 10
        log.append(make_decision())
    assert not rotation_marker(log_path).exists()
    report = verify_log(log_path)
    assert report.ok and report.intact == 11


def test_a_marker_naming_another_file_does_not_allow_recovery(log_path: Path) -> None:
    write_log(log_path, 10, max_bytes=2500)
    rotation_marker(log_path).write_text("999\n")
    log_path.unlink()
    with pytest.raises(AuditLogError, match="NEW file name"):
        AuditLog(log_path)
    assert not verify_log(log_path).ok


def test_a_stale_marker_next_to_a_continuing_live_file_is_removed(log_path: Path) -> None:
    write_log(log_path, 20, max_bytes=4000)
    rotation_marker(log_path).write_text("1\n")
    with AuditLog(log_path) as log:
        assert log.checkpoint.seq == 20
    assert not rotation_marker(log_path).exists()


# -- M1: verify checks bytes, not just the parsed record ------------------------


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda line: line.replace(b"{", b'{"verdict":"allow","host":"example.org",', 1),
            id="duplicate-keys-first",
        ),
        pytest.param(
            lambda line: line.replace(b'"verdict":"deny"', b'"verdict":"\\u0064eny"'),
            id="unicode-escape",
        ),
        pytest.param(lambda line: line[:-1] + b"   \r\n", id="trailing-blanks"),
        pytest.param(lambda line: line.replace(b'":', b'": '), id="spacing"),
    ],
)
def test_byte_level_edits_are_tampering(log_path: Path, edit) -> None:
    write_log(log_path, 4)
    lines = read_lines(log_path)
    assert b'"verdict":"deny"' in lines[1]
    lines[1] = edit(lines[1])
    assert json.loads(lines[1])["hash"] == records(log_path)[1]["hash"]
    log_path.write_bytes(b"".join(lines))
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and report.intact == 1
    assert "seq 2 was altered" in report.problem


def test_the_writer_does_not_continue_from_a_non_canonical_last_line(log_path: Path) -> None:
    write_log(log_path, 2)
    lines = read_lines(log_path)
    lines[-1] = lines[-1][:-1] + b" \n"
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditLogError, match="damaged or altered"):
        AuditLog(log_path)


# -- M5: hostile files do not crash verify / show / report -------------------------


def forged(log_path: Path, **fields: object) -> None:
    """One record with a valid hash and chain but the given field values."""
    write_log(log_path, 1)
    (rec,) = records(log_path)
    rec.update(fields)
    log_path.write_bytes(b"".join(rechain([rec])))


def run_all(run_cli, log_path: Path) -> dict[str, tuple[int, str, str]]:
    return {
        name: run_cli("audit", *argv, log_path)
        for name, argv in {
            "verify": ("verify",),
            "verify-json": ("verify", "--json"),
            "show": ("show",),
            "show-json": ("show", "--json"),
            "report": ("report",),
            "report-json": ("report", "--json"),
        }.items()
    }


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[" * 200_000 + b"\n", id="deep-array"),
        pytest.param(b'{"a":' * 100_000 + b"\n", id="deep-object"),
        pytest.param(b'{"seq":[1],"v":1,"reasons":[]}\n', id="seq-a-list"),
        pytest.param(
            b'{"v":1,"seq":1,"url":"https://a/\\ud800","host":"a\\udfff","verdict":"deny",'
            b'"reasons":[{"check":"x\\ud800","outcome":"deny","message":"m\\udc00"}]}\n',
            id="lone-surrogates",
        ),
    ],
)
def test_hostile_lines_never_crash_the_commands(log_path: Path, run_cli, content) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(content)
    results = run_all(run_cli, log_path)
    assert results["verify"][0] == 1 and results["verify"][1].startswith("TAMPERED: ")
    assert results["report"][0] == 1 and results["show"][0] == 0
    for name, (_code, out, err) in results.items():
        assert "Traceback" not in err, name
        assert "\ud800" not in out and "\udfff" not in out, name
        if name.endswith("-json"):
            for line in out.splitlines() if name == "show-json" else [out]:
                json.loads(line)


def test_wrong_field_types_with_a_valid_hash_are_tampering(log_path: Path, run_cli) -> None:
    forged(log_path, reasons=5, seq=1)
    report = verify_log(log_path)
    assert not report.ok and "'reasons' that are not a list of objects" in report.problem
    results = run_all(run_cli, log_path)
    assert results["verify"][1].startswith("TAMPERED: ")
    assert results["show"][0] == 0 and results["report"][0] == 1
    assert "Traceback" not in "".join(err for _, _, err in results.values())


@pytest.mark.parametrize(
    "fields",
    [
        {"offline": "yes"},
        {"url": ["https://a/"]},
        {"verdict": {"x": 1}},
        {"reasons": [1, 2]},
        {"ts": 5},
    ],
)
def test_other_wrong_types_are_tampering(log_path: Path, fields: dict) -> None:
    forged(log_path, **fields)
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and "(edited)" in report.problem


def test_missing_or_extra_fields_are_tampering(log_path: Path) -> None:
    write_log(log_path, 1)
    (rec,) = records(log_path)
    rec["note"] = "added later"
    log_path.write_bytes(b"".join(rechain([rec])))
    report = verify_log(log_path)
    assert not report.ok and "unknown field(s) 'note'" in report.problem
    del rec["note"], rec["purpose"]
    log_path.write_bytes(b"".join(rechain([rec])))
    report = verify_log(log_path)
    assert not report.ok and "lacks field(s) purpose" in report.problem


def test_odd_values_are_shown_safely(log_path: Path, run_cli) -> None:
    forged(
        log_path,
        host={"x": 1},
        spider=["s"],
        verdict="deny",
        reasons=[{"check": ["c"], "outcome": "deny", "message": {"m": 1}, "rule": 7}],
    )
    code, out, err = run_cli("audit", "show", log_path)
    assert code == 0 and "Traceback" not in err
    assert '{"x": 1}' in out
    code, out, _ = run_cli("audit", "report", log_path, "--json")
    data = json.loads(out)
    assert data["hosts"] == {'{"x": 1}': {"allow": 0, "deny": 1}}
    assert data["denials_by_check"] == {'["c"]': 1}


def test_control_characters_are_escaped_in_the_table(log_path: Path, run_cli) -> None:
    evil = "\x1b[2J\x1b[31mok\u202e\r\nseq 99 allow"
    forged(
        log_path,
        host=evil,
        url="https://a/" + evil,
        reasons=[{"check": "robots", "outcome": "deny", "message": evil}],
    )
    assert verify_log(log_path).ok  # recorded as given: only the display must be safe
    for argv in (("show",), ("report",)):
        code, out, _ = run_cli("audit", *argv, log_path)
        assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
        assert "\\x1b[2J" in out
    code, out, _ = run_cli("audit", "show", log_path)
    assert len(out.splitlines()) == 2  # header + one row: no injected line


def test_a_lone_surrogate_in_the_path_does_not_crash_verify(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "caf\udce9.jsonl"
    try:
        write_log(path, 1)
    except (UnicodeEncodeError, OSError):  # pragma: no cover - filesystems that refuse
        pytest.skip("the filesystem refuses undecodable names")
    code, out, err = run_cli("audit", "verify", path)
    assert code == 0 and "\\udce9" in out


# -- M2 / L1: redaction ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (" https://bob:SECRET@ex.com/", " https://REDACTED@ex.com/"),
        ("\thttps://bob:SECRET@ex.com/\n", "\thttps://REDACTED@ex.com/\n"),
        ("\x0b\x0chttps://SECRET@ex.com/", "\x0b\x0chttps://REDACTED@ex.com/"),
        ("https:/bob:SECRET@ex.com/", "https:/REDACTED@ex.com/"),
        ("https:bob:SECRET@ex.com/", "https:REDACTED@ex.com/"),
        ("HTTP:bob:SECRET@ex.com", "HTTP:REDACTED@ex.com"),
        ("//bob:SECRET@ex.com/", "//REDACTED@ex.com/"),
        ("https:\\\\bob:SECRET@ex.com/", "https:\\\\REDACTED@ex.com/"),
        ("https:///bob:SECRET@ex.com/", "https:///REDACTED@ex.com/"),
        ("https://bob:SECRET@\\ex.com/", "https://REDACTED@\\ex.com/"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("https://example.com/@handle", "https://example.com/@handle"),
    ],
)
def test_userinfo_in_repaired_url_shapes(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://ex.com/a?q=1;token=SECRET",
        "https://ex.com/a?token=SECRET;q=1",
        "https://ex.com/#/cb?token=SECRET",
        "https://ex.com/#/cb?x=1&access_token=SECRET",
        "https://ex.com/?token%00=SECRET",
        "https://ex.com/?token%00junk=SECRET",
        "https://ex.com/?Token%20=SECRET",
    ],
)
def test_query_redaction_gaps(url: str) -> None:
    redacted = redact_url(url)
    assert "SECRET" not in redacted and "REDACTED-" in redacted


def test_semicolon_separated_queries_keep_their_separators() -> None:
    redacted = redact_url("https://ex.com/a?q=1;token=SECRET&b=2")
    assert redacted.startswith("https://ex.com/a?q=1;token=REDACTED-")
    assert redacted.endswith("&b=2")
    assert redact_url("https://ex.com/#/cb?q=1") == "https://ex.com/#/cb?q=1"


# -- L2: permissions ---------------------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_every_created_directory_level_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "audit.jsonl"
    write_log(path, 1)
    for level in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level


@pytest.mark.usefixtures("umask_022")
def test_existing_directories_are_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    write_log(tmp_path / "audit.jsonl", 1)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_an_existing_rotated_file_is_tightened_on_open(log_path: Path) -> None:
    write_log(log_path, 20, max_bytes=4000)
    first = segments_of(log_path)[0]
    os.chmod(first, 0o644)
    AuditLog(log_path).close()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


# -- L7: overlong lines --------------------------------------------------------------------


def test_an_overlong_line_is_tampering_not_loaded(log_path: Path, run_cli) -> None:
    write_log(log_path, 3)
    lines = read_lines(log_path)
    lines.insert(1, b'{"pad":"' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n')
    log_path.write_bytes(b"".join(lines))
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and report.intact == 1
    assert f"longer than {MAX_LINE_BYTES} bytes" in report.problem
    assert report.records == 4
    code, out, err = run_cli("audit", "show", log_path)
    assert code == 0 and len(out.splitlines()) == 4 and "longer than" in err


def test_an_overlong_last_line_is_tampering_and_refused(log_path: Path) -> None:
    write_log(log_path, 2)
    with open(log_path, "ab") as f:
        f.write(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and "longer than" in report.problem
    with pytest.raises(AuditLogError, match="damaged or altered"):
        AuditLog(log_path)


def test_the_writer_refuses_a_record_over_the_line_limit(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.append(make_decision())
        huge = make_decision("https://www.example.com/" + "a" * MAX_LINE_BYTES)
        with pytest.raises(AuditLogError, match="limit"):
            log.append(huge)
        rec = log.append(make_decision())  # the log is still usable
    assert rec.seq == 2
    assert verify_log(log_path).ok


# -- L8: only an unterminated last line is a torn tail -------------------------------------


@pytest.mark.parametrize(
    "last",
    [
        pytest.param(lambda line: line[:40] + b"\n", id="garbage-with-newline"),
        pytest.param(lambda line: b"[1, 2]\n", id="json-not-a-record"),
        pytest.param(lambda line: b"\n", id="blank-line"),
        pytest.param(lambda line: b"[" * 990 + b"]" * 990 + b"\n", id="deep-but-valid-json"),
    ],
)
def test_a_complete_bad_last_line_is_tampering(log_path: Path, run_cli, last) -> None:
    write_log(log_path, 5)
    lines = read_lines(log_path)
    lines[-1] = last(lines[-1])
    log_path.write_bytes(b"".join(lines))
    report = verify_log(log_path)
    assert not report.ok and not report.torn_tail and report.intact == 4
    assert "crashed" not in report.problem
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 1 and out.startswith("TAMPERED: ")


def test_a_canonical_line_helper_matches_the_writer(log_path: Path) -> None:
    write_log(log_path, 3)
    assert [canonical_line(r) for r in records(log_path)] == read_lines(log_path)


def test_report_text_keeps_its_layout_while_escaping(log_path: Path, run_cli) -> None:
    write_log(log_path, 4)
    code, out, _ = run_cli("audit", "report", log_path)
    assert code == 0 and "\\n" not in out
    assert "\n\nverdicts:\n" in out and "\n\nhosts (most denied first):\n" in out
