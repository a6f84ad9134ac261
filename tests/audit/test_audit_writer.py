from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from crawler_compliance.audit import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    AuditLog,
    AuditLogError,
    Checkpoint,
    _writer,
    verify_log,
)
from crawler_compliance.audit._records import rotation_marker
from tests.audit.audit_helpers import make_decision, read_lines, records, ticking_clock, write_log

FIELDS = {
    "v",
    "run",
    "kind",
    "seq",
    "ts",
    "spider",
    "url",
    "host",
    "registrable_domain",
    "purpose",
    "verdict",
    "reasons",
    "policy_fingerprint",
    "robots_fingerprint",
    "robots_status",
    "offline",
    "prev",
    "hash",
}


def canonical_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_record_has_every_field_and_its_hash_covers_the_canonical_json(log_path: Path) -> None:
    with AuditLog(log_path, clock=lambda: 1_700_000_000.25) as log:
        returned = log.append(
            make_decision(deny=True), spider="demo", purpose="search", policy_fingerprint="a" * 64
        )
    (line,) = read_lines(log_path)
    record = json.loads(line)
    assert set(record) == FIELDS
    assert record == returned.record
    assert returned.seq == record["seq"] == 1
    assert returned.hash == record["hash"] == canonical_hash(record)
    assert record["prev"] == GENESIS_HASH
    assert record["v"] == SCHEMA_VERSION
    assert record["ts"] == "2023-11-14T22:13:20.250000Z"
    assert record["verdict"] == "deny" and record["offline"] is False
    assert record["spider"] == "demo" and record["purpose"] == "search"
    assert record["policy_fingerprint"] == "a" * 64
    assert record["robots_status"] == "200" and record["robots_fingerprint"] == "f" * 64
    assert record["reasons"] == [
        {
            "check": "robots",
            "outcome": "deny",
            "message": "denied by robots",
            "rule": "Disallow: /",
            "source": "https://www.example.com/robots.txt",
            "line": 2,
        }
    ]
    # On disk: sorted keys, hash last, one line, UTF-8 without escapes.
    keys = list(record)
    assert keys[-1] == "hash" and keys[:-1] == sorted(keys[:-1])
    assert line.endswith(b'"}\n') and line.count(b"\n") == 1


def test_non_ascii_and_odd_extra_values_round_trip(log_path: Path) -> None:
    from crawler_compliance._decision import Check, Reason, decide

    decision = decide(
        "https://bücher.example/ä",
        [
            Reason(
                Check.SITE,
                "info",
                "Straße",
                extra=(("when", time.gmtime(0)[:3]), ("path", Path("/x"))),
            )
        ],
    )
    with AuditLog(log_path) as log:
        log.append(decision)
    assert "bücher".encode() in log_path.read_bytes()
    assert verify_log(log_path).ok


def test_records_chain_and_sequence(log_path: Path) -> None:
    write_log(log_path, 5)
    recs = records(log_path)
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev"] == GENESIS_HASH
    for before, after in zip(recs, recs[1:], strict=False):
        assert after["prev"] == before["hash"]


def test_append_is_in_the_file_before_it_returns(log_path: Path) -> None:
    log = AuditLog(log_path, fsync_every=10_000, fsync_interval=3600)
    try:
        rec = log.append(make_decision())
        # Read through an independent descriptor: the line is already there.
        assert json.loads(log_path.read_bytes())["hash"] == rec.hash
    finally:
        log.close()


def test_checkpoint_tracks_the_last_record(log_path: Path) -> None:
    log = AuditLog(log_path)
    assert log.checkpoint == Checkpoint(0, GENESIS_HASH, str(log_path))
    rec = log.append(make_decision())
    assert log.checkpoint.seq == 1 and log.checkpoint.hash == rec.hash
    assert str(log.checkpoint) == f"1:{rec.hash}"
    assert Checkpoint.parse(str(log.checkpoint)) == (1, rec.hash, "")
    log.close()


def test_reopen_continues_the_chain(log_path: Path) -> None:
    first = write_log(log_path, 2).checkpoint
    with AuditLog(log_path) as log:
        assert log.checkpoint[:2] == first[:2]
        rec = log.append(make_decision())
    assert rec.seq == 3 and rec.record["prev"] == first.hash
    report = verify_log(log_path)
    assert report.ok and report.intact == 3


def test_reopen_refuses_a_torn_tail(log_path: Path) -> None:
    write_log(log_path, 2)
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":3,"ts":"2023')
    with pytest.raises(AuditLogError, match=r"incomplete.*audit verify") as info:
        AuditLog(log_path)
    assert str(log_path) in str(info.value)


def test_reopen_refuses_an_altered_last_record(log_path: Path) -> None:
    write_log(log_path, 2)
    lines = read_lines(log_path)
    lines[-1] = lines[-1].replace(b'"verdict":"deny"', b'"verdict":"allow"')
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditLogError, match="damaged or altered"):
        AuditLog(log_path)


def test_second_writer_is_refused(log_path: Path) -> None:
    with AuditLog(log_path), pytest.raises(AuditLogError, match="another process"):
        AuditLog(log_path)
    AuditLog(log_path).close()  # free again once the first is closed


def test_close_is_idempotent_and_append_after_close_fails(log_path: Path) -> None:
    log = AuditLog(log_path)
    log.append(make_decision())
    log.close()
    log.close()
    assert log.closed
    with pytest.raises(AuditLogError, match="closed"):
        log.append(make_decision())


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_files_and_new_directories_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "audit.jsonl"
    write_log(path, 30, max_bytes=3000)
    files = [p for p in path.parent.iterdir()]
    assert len(files) >= 3
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_world_readable_log_is_tightened(log_path: Path) -> None:
    write_log(log_path, 1)
    os.chmod(log_path, 0o644)
    AuditLog(log_path).close()
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_fsync_is_batched_by_count_off_the_appending_thread_and_on_close(
    log_path: Path, monkeypatch
) -> None:
    import threading

    calls: list[str] = []
    monkeypatch.setattr(_writer, "_sync", lambda fd: calls.append(threading.current_thread().name))
    log = AuditLog(log_path, fsync_every=10, fsync_interval=3600)
    for _ in range(9):
        log.append(make_decision())
    assert calls == []  # under the batch size: nothing yet
    log.append(make_decision())
    assert _wait_for(lambda: len(calls) == 1)
    assert calls == ["crawler-compliance-audit-fsync"]  # the caller never waited for the disk
    for _ in range(5):
        log.append(make_decision())
    log.close()  # the last five are synced before close returns, on the caller's thread
    assert calls == ["crawler-compliance-audit-fsync", threading.current_thread().name]
    log.close()
    assert len(calls) == 2


def test_fsync_is_batched_by_time(log_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    now = [1000.0]
    monkeypatch.setattr(_writer, "_sync", calls.append)
    monkeypatch.setattr(_writer, "_monotonic", lambda: now[0])
    log = AuditLog(log_path, fsync_every=10_000, fsync_interval=1.0)
    for _ in range(2):  # 0.4 s apart: under the interval, no sync asked for
        now[0] += 0.4
        log.append(make_decision())
    assert calls == []
    now[0] += 0.4  # 1.2 s after opening: this append asks for one
    log.append(make_decision())
    assert _wait_for(lambda: len(calls) == 1)
    log.close()


def test_every_append_fsyncs_when_asked_to(log_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(_writer, "_sync", calls.append)
    log = AuditLog(log_path, fsync_every=100, fsync_interval=0)
    for n in range(3):
        log.append(make_decision())
        assert len(calls) == n + 1  # before append returned
    log.close()


def test_a_failed_background_fsync_fails_every_later_append(log_path: Path, monkeypatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "I/O error")

    log = AuditLog(log_path, fsync_every=2, fsync_interval=3600)
    monkeypatch.setattr(_writer, "_sync", broken)
    log.append(make_decision())
    log.append(make_decision())  # asks the background thread, which fails
    assert _wait_for(lambda: _appends_fail(log))
    with pytest.raises(AuditLogError):
        log.append(make_decision())


def _appends_fail(log: AuditLog) -> bool:
    try:
        log.append(make_decision())
    except AuditLogError:
        return True
    return False


def _half_then_full(fd: int, data) -> int:
    if len(data) > 20:
        return os.write(fd, bytes(data[:20]))
    raise OSError(errno.ENOSPC, "No space left on device")


def _disk_full(fd: int, data) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    ("write", "torn"),
    [
        (_half_then_full, True),  # part of the line went: a torn tail
        (_disk_full, False),  # refused at once: nothing of it went
    ],
)
def test_a_failed_write_fails_closed(log_path: Path, monkeypatch, write, torn) -> None:
    log = AuditLog(log_path)
    log.append(make_decision())
    monkeypatch.setattr(_writer, "_os_write", write)
    with pytest.raises(AuditLogError, match="No space left"):
        log.append(make_decision())
    monkeypatch.undo()
    with pytest.raises(AuditLogError, match="earlier write failed"):
        log.append(make_decision())  # the disk has room again: still refused
    log.close()
    report = verify_log(log_path)
    assert report.torn_tail is torn and report.intact == 1


def test_timestamps_are_utc_with_microseconds_and_never_go_back(log_path: Path) -> None:
    ticks = iter([0.5, 1.000001, 0.9, 2.0])
    write_log(log_path, 4, clock=lambda: next(ticks))
    assert [r["ts"] for r in records(log_path)] == [
        "1970-01-01T00:00:00.500000Z",
        "1970-01-01T00:00:01.000001Z",
        "1970-01-01T00:00:01.000001Z",  # the clock stepped back: repeated, not reversed
        "1970-01-01T00:00:02.000000Z",
    ]
    assert verify_log(log_path).ok


def test_reopen_keeps_timestamps_monotonic(log_path: Path) -> None:
    write_log(log_path, 1, clock=lambda: 2000.0)
    with AuditLog(log_path, clock=lambda: 1000.0) as log:
        rec = log.append(make_decision())
    assert rec.record["ts"] == "1970-01-01T00:33:20.000000Z"
    assert verify_log(log_path).ok


def test_concurrent_appends_from_threads_form_one_chain(log_path: Path) -> None:
    log = AuditLog(log_path)
    seqs: list[int] = []

    def work() -> None:
        for _ in range(150):
            seqs.append(log.append(make_decision()).seq)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert sorted(seqs) == list(range(1, 901))
    report = verify_log(log_path)
    assert report.ok and report.intact == 900


def test_rotation_keeps_one_chain_across_files(log_path: Path) -> None:
    log = write_log(log_path, 40, max_bytes=4000)
    segments = sorted(
        p.name for p in log_path.parent.iterdir() if p != log_path and p.suffix != ".checkpoints"
    )
    assert len(segments) >= 3
    assert segments[:3] == ["audit.jsonl.000001", "audit.jsonl.000002", "audit.jsonl.000003"]
    files = [log_path.parent / name for name in segments] + [log_path]
    for file in files:
        assert file.stat().st_size <= 4000
    chained = [r for f in files for r in records(f)]
    assert [r["seq"] for r in chained] == list(range(1, 41))
    for before, after in zip(chained, chained[1:], strict=False):
        assert after["prev"] == before["hash"]
    report = verify_log(log_path, log.checkpoint)
    assert report.ok and report.intact == 40 and len(report.files) == len(files)
    # Reopening continues both the chain and the numbering.
    write_log(log_path, 40, max_bytes=4000)
    names = sorted(p.name for p in log_path.parent.iterdir())
    assert len(names) > len(files)
    assert verify_log(log_path).intact == 80


def test_reopen_after_a_crash_between_rename_and_first_record(log_path: Path) -> None:
    write_log(log_path, 10, max_bytes=2500)
    segments = sorted(
        p for p in log_path.parent.iterdir() if p != log_path and p.suffix != ".checkpoints"
    )
    following = int(segments[-1].name.rsplit(".", 1)[1]) + 1
    # What the writer leaves behind: the marker, then the rename.
    rotation_marker(log_path).write_text(f"{following}\n")
    log_path.rename(log_path.with_name(f"audit.jsonl.{following:06d}"))
    with AuditLog(log_path, max_bytes=2500) as log:
        assert log.checkpoint.seq == 10
        log.append(make_decision())
    report = verify_log(log_path)
    assert report.ok and report.intact == 11
    assert not rotation_marker(log_path).exists()


def test_a_record_larger_than_max_bytes_is_still_written(log_path: Path) -> None:
    with AuditLog(log_path, max_bytes=100) as log:
        log.append(make_decision())
        log.append(make_decision())
    assert verify_log(log_path).intact == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fsync_every": 0},
        {"fsync_interval": -1},
        {"max_bytes": 0},
    ],
)
def test_invalid_settings_are_rejected(log_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        AuditLog(log_path, **kwargs)


def test_append_is_cheap(log_path: Path) -> None:
    # A generous guard against pathological regressions (an fsync per record,
    # re-reading the file), not a benchmark: see benchmarks/bench_audit.py.
    with AuditLog(log_path, clock=ticking_clock(step=0.001)) as log:
        decision = make_decision(deny=True)
        start = time.perf_counter()
        for _ in range(3000):
            log.append(decision)
        elapsed = time.perf_counter() - start
    assert elapsed / 3000 < 500e-6
    assert verify_log(log_path).intact == 3000


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "plain",
        "ünïcödé ✓",
        'quote " backslash \\ slash /',
        "ctl \x00\x1f\x7f\n\t",
        "\u2028\u2029",
        "emoji 🦀",
        "lone surrogate \ud800",
    ],
)
def test_the_hand_built_line_is_the_canonical_json(value: object) -> None:
    from crawler_compliance.audit._records import RECORD_KEYS, canonical_json, encode_record

    record = {key: value for key in RECORD_KEYS}
    record.update(
        offline=True,
        seq=12,
        v=SCHEMA_VERSION,
        reasons=[
            {
                "check": "robots",
                "outcome": "deny",
                "message": value,
                "line": 3,
                "extra": {"z": [1.5, None, value], "a": True},
            }
        ],
    )
    assert encode_record(record) == canonical_json(record)
    record["offline"] = False
    assert encode_record(record) == canonical_json(record)
    if value is not None:  # the optional fields, in sorted place (omitted when None)
        for key in ("kind", "page", "proxy", "vhost"):
            record[key] = value
            assert encode_record(record) == canonical_json(record)


def test_an_odd_typed_argument_still_hashes_canonically(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.append(make_decision(), spider=7, purpose=["a", "b"])  # type: ignore[arg-type]
    (record,) = records(log_path)
    assert record["spider"] == 7 and record["purpose"] == ["a", "b"]
    assert verify_log(log_path).ok


def test_text_that_is_not_unicode_is_recorded_as_replacement_characters(log_path: Path) -> None:
    from crawler_compliance._decision import Check, Reason, decide

    broken = b"Disallow: /caf\xe9".decode("utf-8", "surrogateescape")
    with AuditLog(log_path) as log:
        rec = log.append(decide("https://example.com/", [Reason(Check.ROBOTS, "deny", broken)]))
    assert rec.record["reasons"][0]["message"] == "Disallow: /caf\ufffd"
    assert records(log_path)[0]["reasons"][0]["message"] == "Disallow: /caf\ufffd"
    assert verify_log(log_path).ok
    # A forged "\ud800" escape cannot be re-encoded: reported, not a crash.
    log_path.write_bytes(log_path.read_bytes().replace(b"caf\xef\xbf\xbd", b"caf\\ud800"))
    report = verify_log(log_path)
    assert not report.ok and "altered" in report.problem


def test_the_returned_record_is_the_line_written(log_path: Path) -> None:
    """append() returns the record as written, read back from the line, and still unpacks."""
    with AuditLog(log_path) as log:
        returned = log.append(make_decision(), spider="s")
    written = json.loads(log_path.read_bytes())
    seq, digest, record = returned
    assert (seq, digest, record) == (written["seq"], written["hash"], written)
    assert returned[2] is returned.record and len(returned) == 3
    assert returned._asdict() == {"seq": seq, "hash": digest, "record": written}


def test_equal_reasons_that_encode_differently_are_each_written_as_given(tmp_path: Path) -> None:
    """``1 == 1.0 == True`` and ``0.0 == -0.0``: the writer's caches must not hand one's text
    to the other (the record would quote a value the crawl never had)."""
    import datetime as dt
    from decimal import Decimal
    from pathlib import PureWindowsPath

    from crawler_compliance._decision import Check, Reason, decide

    values = [1, 1.0, True, 0.0, -0.0, 0, False]
    # Written through the encoder's default=str: equal values, different texts.
    as_text = [
        Decimal("1.0"),
        Decimal("1.00"),
        (Decimal("0"),),
        (Decimal("-0"),),
        PureWindowsPath("A"),
        PureWindowsPath("a"),
        dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ]
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        for _ in range(2):  # the second round meets every cache warm
            for value in [*values, *as_text]:
                reason = Reason(Check.ROBOTS, "allow", "delay", extra=(("crawl_delay", value),))
                log.append(decide("https://a.example/", [reason], host="a.example"))
    written = [r["reasons"][0]["crawl_delay"] for r in records(path)]
    expected = [*values, *(json.loads(json.dumps(v, default=str)) for v in as_text)]
    assert [json.dumps(w) for w in written] == [json.dumps(v) for v in expected] * 2
    assert verify_log(path).ok


def test_a_reason_text_of_a_str_subclass_is_redacted(tmp_path: Path) -> None:
    from crawler_compliance._decision import Check, Reason, decide

    class Text(str):
        pass

    path = tmp_path / "audit.jsonl"
    secret = Text("see https://bob:hunter2@x.example/?token=s3cret")
    reason = Reason(Check.ROBOTS, "allow", secret, rule=secret, source=secret)
    with AuditLog(path) as log:
        log.append(decide("https://a.example/", [reason], host="a.example"))
    text = path.read_text()
    assert "hunter2" not in text and "s3cret" not in text


def test_a_reason_holding_a_dict_keyed_by_numbers_is_written_so_verify_reads_it(
    tmp_path: Path,
) -> None:
    from crawler_compliance._decision import Check, Reason, decide

    path = tmp_path / "audit.jsonl"
    reason = Reason(Check.OPT_OUT, "info", "m", extra=(("counts", {2: "a", 10: "b"}), ("l", [1])))
    with AuditLog(path) as log:
        for _ in range(3):
            log.append(decide("https://a.example/", [reason], host="a.example"))
    assert [r["reasons"][0]["counts"] for r in records(path)] == [{"2": "a", "10": "b"}] * 3
    report = verify_log(path)
    assert report.ok and report.intact == 3, report.problem
