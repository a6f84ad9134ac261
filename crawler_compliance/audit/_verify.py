"""Verify an audit log: every hash, every link, every sequence number, in order."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection
from enum import Enum
from pathlib import Path
from typing import NamedTuple

from crawler_compliance.audit._merkle import CompactRange
from crawler_compliance.audit._records import (
    GENESIS_HASH,
    MAX_LINE_BYTES,
    Checkpoint,
    RecordError,
    check_line,
    log_files,
    read_lines,
    read_marker,
    rotated_segments,
    rotation_marker,
    segment_name,
)

_sha256 = hashlib.sha256
_SEQ_IN_LINE = re.compile(rb'"seq":(\d+)')
_LOOKAHEAD_LINES = 10_000  # how far to look for a "missing" record that was moved


class VerifyStatus(str, Enum):
    """What ``audit verify`` concluded (the first word it prints; ``status`` in JSON)."""

    OK = "OK"
    TAMPERED = "TAMPERED"  # a record was edited, deleted, inserted or moved
    TRUNCATED = "TRUNCATED"  # records are missing from the end against a checkpoint
    TORN = "TORN"  # the last line is incomplete: a writer crashed mid-write
    REWRITTEN = "REWRITTEN"  # the tree no longer matches a checkpoint of the same size
    BAD_SIGNATURE = "BAD_SIGNATURE"  # a checkpoint is not signed by the given key
    UNWITNESSED = "UNWITNESSED"  # fewer witnesses cosigned than the quorum asks
    BAD_TIMESTAMP = "BAD_TIMESTAMP"  # an RFC 3161 token does not verify against the roots
    UNTIMESTAMPED = "UNTIMESTAMPED"  # TSA roots were given but no checkpoint has a token


class SignatureStatus(str, Enum):
    """Whether the log's checkpoints are signed, and whether that was checked."""

    SIGNED = "signed"  # every checkpoint verified with the given key
    UNSIGNED = "unsigned"  # the checkpoints carry no signature
    NOT_CHECKED = "signed, not checked (no key given)"
    NO_CHECKPOINTS = "no checkpoints"


class VerifyReport(NamedTuple):
    """The outcome of :func:`verify_log`.

    ``records`` counts complete lines in all files; ``intact`` the records
    verified from the start of the chain up to the first problem (all of them
    when ``ok``). ``problem`` is one sentence naming the file and line.
    ``torn_tail`` is true when the last line of the newest file is incomplete
    or unreadable, the mark a writer killed mid-write leaves behind.
    ``last_seq`` / ``last_hash`` are those of the last intact record: a
    checkpoint to keep for the next verification.
    """

    ok: bool
    records: int
    intact: int
    problem: str | None
    torn_tail: bool
    last_seq: int
    last_hash: str
    files: list[str]
    status: VerifyStatus = VerifyStatus.OK
    tree_size: int = 0
    root: str = ""
    checkpoints: int = 0
    signature: SignatureStatus = SignatureStatus.NO_CHECKPOINTS
    witnessed: dict[str, int] | None = None
    timestamped: tuple[int, str] | None = None  # (size, UTC time) of the newest verified token

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.last_seq, self.last_hash)


class _Problem(Exception):
    def __init__(self, message: str, *, torn: bool = False, missing: range | None = None):
        super().__init__(message)
        self.message = message
        self.torn = torn
        self.missing = missing  # seq numbers skipped: look for them later (reordering)


def verify_log(
    path: str | os.PathLike[str], checkpoint: Checkpoint | str | None = None
) -> VerifyReport:
    """Verify the hash chain of a log (see :func:`verify_chain`); for checkpoints,
    signatures and witnesses see :func:`crawler_compliance.audit.verify_tlog`."""
    return verify_chain(path, checkpoint)[0]


def verify_chain(
    path: str | os.PathLike[str],
    checkpoint: Checkpoint | str | None = None,
    *,
    tree_sizes: Collection[int] = (),
) -> tuple[VerifyReport, dict[int, bytes]]:
    """Verify the log at ``path`` and its rotated files, oldest first.

    Checks that every record's hash matches its content, that each ``prev`` is
    the hash of the record before it (across file boundaries too), that
    sequence numbers start at 1 and rise by exactly one, and that timestamps
    never go backwards. With a ``checkpoint`` (``Checkpoint`` or
    ``"SEQ:HASH"``), also that the log still reaches that record unchanged.
    Also builds the RFC 9162 tree over the intact records; returns the report
    and the root hash at each of ``tree_sizes`` the intact records reach.

    Raises ``OSError`` (``FileNotFoundError`` when neither the file nor any
    rotated file exists) when the log cannot be read.
    """
    if isinstance(checkpoint, str):
        checkpoint = Checkpoint.parse(checkpoint)
    live = Path(path)
    files = log_files(live)
    if not files:
        raise FileNotFoundError(2, "no audit log (nor rotated files) at this path", str(path))
    state = _State(checkpoint, frozenset(tree_sizes))
    problem: _Problem | None = None
    # Rotated numbers run 1, 2, 3 ... with no gaps; a gap is a deleted file.
    numbers = [n for n, _ in rotated_segments(live)]
    gap = next((numbers[0] + i for i, n in enumerate(numbers) if n != numbers[0] + i), None)
    for index, file in enumerate(files):
        is_last_file = index == len(files) - 1
        with open(file, "rb") as handle:
            for lineno, raw, complete, is_last_line in read_lines(handle):
                where = f"{file}:{lineno}"
                if problem is not None:
                    state.count_after_problem(raw, complete, where, problem)
                    continue
                try:
                    state.check(
                        raw,
                        complete,
                        where,
                        first_in_file=(lineno == 1 and index > 0),
                        tail=is_last_file and is_last_line,
                        previous_file=files[index - 1] if index else None,
                        is_live=file == live,
                        gap=gap,
                        path=live,
                    )
                except _Problem as found:
                    problem = found
    if problem is None and numbers:
        problem = _live_problem(live, numbers[-1])
    torn = bool(problem and problem.torn)
    message = problem.message if problem else None
    if problem is not None and problem.missing is not None and state.moved is not None:
        seq, location = state.moved
        message = f"{message}; seq {seq} appears later, at {location}: records were reordered"
    if checkpoint is not None and state.last_seq < checkpoint.seq and (problem is None or torn):
        lost = checkpoint.seq - state.last_seq
        message = (
            f"truncated: the log ends at seq {state.last_seq} but the checkpoint says "
            f"{checkpoint.seq} ({lost} record(s) missing from the end)"
            + (f"; also: {message}" if message else "")
        )
    if message is None:
        status = VerifyStatus.OK
    elif message.startswith("truncated"):
        status = VerifyStatus.TRUNCATED
    else:
        status = VerifyStatus.TORN if torn else VerifyStatus.TAMPERED
    return VerifyReport(
        status=status,
        tree_size=state.tree.size,
        root=state.tree.root().hex(),
        ok=message is None,
        records=state.records,
        intact=state.intact,
        problem=message,
        torn_tail=torn,
        last_seq=state.last_seq,
        last_hash=state.last_hash,
        files=[str(f) for f in files],
    ), state.roots


class _State:
    __slots__ = (
        "checkpoint",
        "records",
        "intact",
        "last_seq",
        "last_hash",
        "last_ts",
        "moved",
        "_looked",
        "tree",
        "roots",
        "_sizes",
    )

    def __init__(self, checkpoint: Checkpoint | None, sizes: frozenset[int] = frozenset()) -> None:
        self.tree = CompactRange()
        self.roots: dict[int, bytes] = {}
        self._sizes = sizes
        self.checkpoint = checkpoint
        self.records = 0
        self.intact = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.last_ts = ""
        self.moved: tuple[int, str] | None = None
        self._looked = 0

    def check(
        self,
        raw: bytes | None,
        complete: bool,
        where: str,
        *,
        first_in_file: bool,
        tail: bool,
        previous_file: Path | None,
        is_live: bool,
        gap: int | None,
        path: Path,
    ) -> None:
        # Only a last line without its newline is what a crash mid-write leaves;
        # a complete line that is not a record was written (or edited) whole.
        if tail and not complete and raw is not None:
            raise _Problem(
                f"torn last line at {where}: the writer looks to have crashed mid-write "
                f"({len(raw)} bytes, no newline); "
                f"the {self.intact} record(s) before it are intact",
                torn=True,
            )
        if complete:
            self.records += 1
        if raw is None:
            raise _Problem(
                f"{where}: a line longer than {MAX_LINE_BYTES} bytes: not written by "
                "the audit log (damaged or edited)"
            )
        try:
            record = check_line(raw)
        except RecordError as exc:
            raise _Problem(f"{where}: {exc}") from None
        seq, digest, ts = record["seq"], record["hash"], record["ts"]
        expected = self.last_seq + 1
        if seq != expected or record.get("prev") != self.last_hash:
            raise self._break(
                where, seq, expected, first_in_file, previous_file, is_live, gap, path
            )
        if ts < self.last_ts:
            raise _Problem(
                f"{where}: seq {seq} is timestamped {ts}, before seq "
                f"{self.last_seq} ({self.last_ts}): records were reordered"
            )
        cp = self.checkpoint
        if cp is not None and seq == cp.seq and digest != cp.hash:
            raise _Problem(
                f"{where}: seq {seq} does not match the checkpoint's hash: "
                "the log was rewritten from this record on (or earlier)"
            )
        self.last_seq, self.last_hash, self.last_ts = seq, digest, ts
        self.intact += 1
        tree = self.tree
        tree.append(_sha256(b"\x00" + raw[:-1]).digest())  # RFC 9162 leaf of this line
        if tree.size in self._sizes:
            self.roots[tree.size] = tree.root()

    def _break(
        self,
        where: str,
        seq: int,
        expected: int,
        first_in_file: bool,
        previous_file: Path | None,
        is_live: bool,
        gap: int | None,
        path: Path,
    ) -> _Problem:
        if first_in_file and previous_file is not None and is_live and gap is None:
            return _Problem(
                f"{where}: the live file does not continue the last rotated file "
                f"{previous_file} (expected seq {expected}, found {seq}): the live file "
                "was replaced, or moved aside and a new one started in its place"
            )
        if first_in_file and previous_file is not None:
            hint = (
                f" (no file {segment_name(path, gap).name}: it was deleted)"
                if gap is not None
                else ""
            )
            return _Problem(
                f"{where}: this file does not continue {previous_file} (expected seq "
                f"{expected}, found {seq}): a rotated file is missing or was altered{hint}"
            )
        if expected == 1 and seq > 1:
            return _Problem(
                f"{where}: the log starts at seq {seq}, not 1: its first "
                f"{seq - 1} record(s) (or oldest rotated files) are missing"
            )
        if seq > expected:
            return _Problem(
                f"{where}: seq jumps from {self.last_seq} to {seq}: "
                f"{seq - expected} record(s) missing (deleted)",
                missing=range(expected, seq),
            )
        if seq < expected:
            return _Problem(
                f"{where}: seq {seq} follows seq {self.last_seq}: records "
                "were reordered or duplicated"
            )
        return _Problem(
            f"{where}: seq {seq} does not chain to seq {self.last_seq} (its "
            "'prev' is not that record's hash): a record was replaced"
        )

    def count_after_problem(
        self, raw: bytes | None, complete: bool, where: str, problem: _Problem
    ) -> None:
        if complete:
            self.records += 1
        # A "missing" record found further on means it was moved, not deleted.
        if (
            raw is not None
            and problem.missing is not None
            and self.moved is None
            and self._looked < _LOOKAHEAD_LINES
        ):
            self._looked += 1
            match = _SEQ_IN_LINE.search(raw)
            if match and int(match.group(1)) in problem.missing:
                self.moved = (int(match.group(1)), where)


def _live_problem(live: Path, last_segment: int) -> _Problem | None:
    """Rotated files exist: the live file must hold records, unless a rotation
    was cut short (its marker names the newest rotated file)."""
    try:
        size = live.stat().st_size
    except FileNotFoundError:
        size = None
    if size:
        return None
    if read_marker(rotation_marker(live)) == last_segment:
        return None  # killed between a rotation's rename and its first record
    state = "missing" if size is None else "empty"
    return _Problem(
        f"{live}: the live file is {state} but its rotated files exist and no rotation "
        "was under way: the newest records were moved aside or deleted"
    )
