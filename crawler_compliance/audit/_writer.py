"""The append-only, hash-chained audit log writer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from crawler_compliance._decision import Decision
from crawler_compliance.audit._checkpoints import (
    EntryType,
    Sidecar,
    last_checkpoint_entry,
    sidecar_path,
    stored_range,
)
from crawler_compliance.audit._files import open_nofollow, open_read_nofollow, refuse_link
from crawler_compliance.audit._merkle import CompactRange
from crawler_compliance.audit._note import Signer, TreeHead, make_checkpoint
from crawler_compliance.audit._records import (
    GENESIS_HASH,
    MAX_LINE_BYTES,
    AuditLogError,
    AuditRecord,
    Checkpoint,
    RecordError,
    Template,
    Timestamps,
    canonical_json,
    check_line,
    encode_record,
    fill_template,
    log_files,
    read_marker,
    record_fields,
    record_template,
    rotated_segments,
    rotation_marker,
    scrub_surrogates,
    segment_name,
)
from crawler_compliance.audit._redact import DEFAULT_REDACT_PARAMS, Redactor

if TYPE_CHECKING:
    from crawler_compliance.audit._tsa import TimestampAuthority
    from crawler_compliance.audit._witness import Witness, WitnessPool

DEFAULT_CHECKPOINT_EVERY = 1000
_FOLD_EVERY = 256  # records held (as written) before they are hashed into the tree
_MAX_CACHED_REASONS = 4096

try:  # POSIX: refuse a second writer on the same file.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT
_FILE_MODE = 0o600
_DIR_MODE = 0o700
_TAIL_CHUNK = 64 * 1024
# fdatasync is enough for appends: it also flushes the size change needed to
# read the data back. Module-level names so tests can count the calls.
_sync = getattr(os, "fdatasync", os.fsync)
_os_write = os.write
_is = operator.is_
_monotonic = time.monotonic


class AuditLog:
    """Append decisions to a JSON Lines audit log, one hash-chained record each.

    Every :meth:`append` writes its line with one ``write(2)`` on an
    ``O_APPEND`` descriptor before it returns, so a killed process loses no
    record it returned; ``fsync`` (which also survives power loss) is batched:
    after ``fsync_every`` records, or once ``fsync_interval`` seconds have
    passed since the last one, and at :meth:`close`. The batched fsync runs on
    a background thread, so the caller (the crawl's reactor thread) never
    waits for the disk; the bound on what a power cut can lose is the same.
    A failed background fsync fails every later append (fail closed). With
    ``fsync_interval=0`` or ``fsync_every=1`` every append fsyncs before it
    returns.

    Opening an existing log continues its chain. A log whose last line is
    incomplete (the writer died mid-write) is refused with
    :class:`AuditLogError`: run ``crawler-compliance audit verify``, keep the
    files as they are and point the crawl at a new file name. So is a live
    file that is missing, empty or does not continue its rotated files (it was
    moved aside or replaced): continuing would reuse sequence numbers and hide
    the records it held. One process at a time may write a log (an advisory
    ``flock``); a second writer gets :class:`AuditLogError`.

    With ``max_bytes``, the live file is renamed ``<name>.000001``,
    ``<name>.000002``, … (oldest first, never renamed again) before a record
    would take it over the limit; the new file's first record chains to the
    last record of the previous one. ``<name>.rotating`` exists from just
    before the rename until the new file's first record is written (and
    synced); only with it does opening accept a missing or empty live file
    next to rotated ones.
    Files and directories created here are readable by their owner only
    (``0600`` / ``0700``), whatever the umask. A record longer than
    :data:`MAX_LINE_BYTES` is refused (``AuditLogError``).

    Every record is also a leaf of an RFC 9162 Merkle tree (leaf = SHA-256 of
    0x00 and the line without its newline), kept as a compact range: O(log n)
    hashes, the log is never read back to extend it. A C2SP checkpoint (origin,
    size, root; signed with ``signer`` when given, else unsigned) is appended to
    ``<name>.checkpoints`` when the log is opened, every ``checkpoint_every``
    records and at :meth:`close` (the log is fsynced first, so a checkpoint
    never covers records that could be lost). With ``witnesses``, each signed
    checkpoint is also sent to them from a background thread (C2SP
    tlog-witness); their cosignatures land in the sidecar too. With ``tsa``,
    each checkpoint also gets an RFC 3161 timestamp token, fetched on that
    same thread.

    Thread-safe. Usable as a context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync_interval: float = 1.0,
        fsync_every: int = 1000,
        max_bytes: int | None = None,
        redact_params: Iterable[str] = DEFAULT_REDACT_PARAMS,
        redact_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
        origin: str | None = None,
        signer: Signer | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        witnesses: Sequence[Witness] = (),
        witness_timeout: float = 10.0,
        tsa: TimestampAuthority | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every!r}")
        if witnesses and signer is None:
            raise ValueError("witnesses cosign only signed checkpoints: give a signing key")
        if fsync_every < 1:
            raise ValueError(f"fsync_every must be at least 1, got {fsync_every!r}")
        if fsync_interval < 0:
            raise ValueError(f"fsync_interval must not be negative, got {fsync_interval!r}")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be positive or None, got {max_bytes!r}")
        self.path = Path(path)
        self._fsync_interval = fsync_interval
        self._fsync_every = fsync_every
        self._max_bytes = max_bytes
        self._redactor = Redactor(redact_params, redact_key)
        # Reason -> (the reason encoded, its text);
        # key -> (template, the reasons it was built for, their text).
        self._reason_cache: dict[Any, tuple[Any, str]] = {}
        self._templates: dict[tuple[object, ...], tuple[Template, Any, str]] = {}
        self._lock = threading.Lock()
        self._failed: BaseException | None = None
        self._fd: int | None = None

        self._marker = rotation_marker(self.path)
        self._marker_pending = False

        _make_private_dirs(self.path.parent)
        segments = rotated_segments(self.path)
        for _, segment in segments:
            _tighten(segment)
        self._next_segment = segments[-1][0] + 1 if segments else 1
        marked = read_marker(self._marker) if self._marker.exists() else None
        if segments and not self.path.exists() and marked != segments[-1][0]:
            raise AuditLogError(_moved_aside(self.path, "is missing"))
        self._fd = self._open_live()
        self._size = os.fstat(self._fd).st_size
        try:
            tail = self._resume(segments, marked)
        except BaseException:
            self._close_fd()
            raise
        if tail is None:
            self._seq, self._hash, last_ts = 0, GENESIS_HASH, None
        else:
            self._seq, self._hash, last_ts = tail
        self._timestamps = Timestamps(clock, last_ts)
        self._unsynced = 0
        self._last_sync = _monotonic()
        self._sync_wanted = threading.Event()
        self._sync_requested = False
        self._sync_thread: threading.Thread | None = None
        if fsync_interval > 0 and fsync_every > 1:
            self._sync_thread = threading.Thread(
                target=self._sync_loop, name="crawler-compliance-audit-fsync", daemon=True
            )
            self._sync_thread.start()
        self.run = secrets.token_hex(8)
        """The random id written as ``run`` in every record of this opened log."""
        self.origin = _check_origin(
            origin if origin is not None else _default_origin(self.path, signer)
        )
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self.checkpoint_errors = 0
        self.last_checkpoint_note: str | None = None
        self._witness: WitnessPool | None = None
        self._unfolded: list[bytes] = []
        try:
            self._tree = self._restore_tree()
            try:
                self._sidecar = Sidecar(sidecar_path(self.path), _FILE_MODE)
            except OSError as exc:
                raise AuditLogError(
                    f"{sidecar_path(self.path)}: cannot open the checkpoint file: "
                    f"{exc.strerror or exc}"
                ) from exc
        except BaseException:
            self._close_fd()
            raise
        if witnesses or tsa is not None:
            from crawler_compliance.audit._witness import WitnessPool

            self._witness = WitnessPool(
                self.path,
                self._sidecar,
                list(witnesses),
                self._tree.copy(),
                timeout=witness_timeout,
                tsa=tsa,
            )
        self._cp_size = -1
        with self._lock:
            self._write_checkpoint()

    # -- public API ---------------------------------------------------------

    def append(
        self,
        decision: Decision,
        *,
        kind: str | None = None,
        spider: str | None = None,
        purpose: str | None = None,
        policy_fingerprint: str | None = None,
    ) -> AuditRecord:
        """Record ``decision``; return once the line is in the OS's hands.

        Raises :class:`AuditLogError` when the log is closed or cannot be
        written (disk full, …): callers must then treat the request as denied.
        """
        template = self._template(decision, kind, spider, purpose, policy_fingerprint)
        url = self._redactor.url(decision.url)
        with self._lock:
            if self._fd is None:
                raise AuditLogError(f"{self.path}: the audit log is closed")
            if self._failed is not None:
                raise AuditLogError(
                    f"{self.path}: an earlier write failed ({self._failed}); "
                    "no further records are accepted"
                )
            seq = self._seq + 1
            ts = self._timestamps.next()
            data: bytes | None = None
            if template is not None:
                try:
                    data = fill_template(template, self._hash, seq, ts, url).encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate (rare): scrubbed below (U+FFFD)
                    data = None
            if data is None:
                record = self._fields(decision, kind, spider, purpose, policy_fingerprint)
                reasons = json.loads(self._reasons_json(decision.reasons))
                record.update(reasons=reasons, seq=seq, ts=ts, prev=self._hash)
                data = encode_record(scrub_surrogates(record)).encode("utf-8")
            digest = hashlib.sha256(data).hexdigest()
            # The canonical text with the hash spliced in last: one encoding.
            line = b"".join((data[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n'))
            if len(line) > MAX_LINE_BYTES:  # readers refuse longer lines
                raise AuditLogError(
                    f"{self.path}: audit record of {len(line)} bytes is over the "
                    f"{MAX_LINE_BYTES}-byte limit (an enormous URL or reason); not written"
                )
            if (
                self._max_bytes is not None
                and self._size
                and self._size + len(line) > self._max_bytes
            ):
                try:
                    self._rotate()
                except OSError as exc:  # nothing of this record was written
                    raise AuditLogError(f"{self.path}: cannot rotate audit log: {exc}") from exc
            # One write(2) takes the whole line, as a rule (the rest: _write_rest).
            try:
                written = _os_write(self._fd, line)
            except OSError as exc:
                self._write_failed(exc)
            if written != len(line):
                self._write_rest(line, written)
            self._seq = seq
            self._hash = digest
            self._size += len(line)
            self._unsynced += 1
            # The Merkle tree is folded in batches (_fold): hashing a batch of
            # leaves in one loop costs less than one leaf per request.
            self._unfolded.append(line)
            if len(self._unfolded) >= _FOLD_EVERY:
                self._fold()
            if self._marker_pending:  # once per rotation: its first record is written
                self._end_rotation()
            if self._sync_thread is not None:
                # The thread syncs every fsync_interval on its own; it is woken
                # early by the count, once per sync (until it takes the request,
                # later appends need not set the Event again: that takes a lock).
                if self._unsynced >= self._fsync_every and not self._sync_requested:
                    self._sync_requested = True
                    self._sync_wanted.set()
            elif (
                self._unsynced >= self._fsync_every
                or _monotonic() - self._last_sync >= self._fsync_interval
            ):
                self._fsync()
            if seq - self._cp_size >= self._checkpoint_every:
                self._write_checkpoint()
        return AuditRecord(seq, digest, line=line)

    def _fields(
        self,
        decision: Decision,
        kind: str | None,
        spider: str | None,
        purpose: str | None,
        policy_fingerprint: str | None,
    ) -> dict[str, Any]:
        return record_fields(
            decision,
            self._redactor,
            run=self.run,
            kind=kind,
            spider=spider,
            purpose=purpose,
            policy_fingerprint=policy_fingerprint,
        )

    def _template(
        self,
        decision: Decision,
        kind: str | None,
        spider: str | None,
        purpose: str | None,
        policy_fingerprint: str | None,
    ) -> Template | None:
        """The record's text around its changing values (``None``: encode it in full).

        Kept per combination of everything :func:`record_fields` reads but
        the URL: the same inputs give the same record around it. The
        reasons are part of the key as the reasons themselves, which a
        crawl's shared reason objects make cheap to hash and compare; a hit
        on other, equal reasons is taken only if their text is the same.
        Reasons that cannot be hashed are keyed on their text. The template
        itself is built from ``record_fields``, the one record model.
        """
        if type(decision) is Decision:  # every field there: no getattr defaults
            extra: tuple[object, ...] = (
                decision.kind,
                decision.vhost,
                decision.proxy,
                decision.page,
            )
        else:
            extra = (
                getattr(decision, "kind", None),
                getattr(decision, "vhost", None),
                getattr(decision, "proxy", None),
                getattr(decision, "page", None),
            )
        reasons = decision.reasons
        key: tuple[object, ...] = (
            decision.host,
            decision.registrable_domain,
            decision.verdict,
            decision.robots_fingerprint,
            decision.robots_status,
            decision.offline,
            kind,
            extra,
            spider,
            purpose,
            policy_fingerprint,
            reasons,
        )
        templates = self._templates
        try:
            entry = templates.get(key)
        except TypeError:  # an unhashable value in a reason's extras: key on the text
            key = (*key[:-1], self._reasons_json(reasons))
            try:
                entry = templates.get(key)
            except TypeError:  # an unhashable odd value elsewhere: encoded in full
                return None
        if entry is not None:
            if all(map(_is, entry[1], reasons)):
                return entry[0]  # the same reason objects: the same text
            # Equal reasons, other objects: reused only if they encode alike
            # (1 == 1.0 == True, Decimal("1.0") == Decimal("1.00"), ...).
            reasons_json = self._reasons_json(reasons)
            if reasons_json == entry[2]:
                return entry[0]
        else:
            reasons_json = self._reasons_json(reasons)
        record = self._fields(decision, kind, spider, purpose, policy_fingerprint)
        template = record_template(record, reasons_json)
        if len(templates) >= _MAX_CACHED_REASONS:
            templates.clear()
        templates[key] = (template, reasons, reasons_json)
        return template

    def _reasons_json(self, reasons: Iterable[Any]) -> str:
        """The reasons' canonical JSON, redacted, memoised per Reason.

        A crawl records the same few reasons over and over (one robots.txt
        rule, one registry finding per site); each is redacted and encoded
        once, as long as it is the same object: an equal other one may be
        written otherwise (``1 == 1.0``), so it is encoded for itself.
        Reasons that cannot be hashed are done every time. The text is what
        a reader parses back and encodes again (``audit verify`` does): a
        dict keyed by numbers, say, is written with its keys as the JSON
        strings they become.
        """
        cache = self._reason_cache
        parts: list[str] = []
        for reason in reasons:
            try:
                hit = cache.get(reason)
                hashable = True
            except TypeError:  # an unhashable value in its extras
                hit, hashable = None, False
            if hit is not None and hit[0] is reason:  # an equal other object is encoded anew
                parts.append(hit[1])
                continue
            text = canonical_json(self._redactor.reason(reason.to_dict()))
            text = canonical_json(json.loads(text))  # as read back (string keys)
            if hashable:
                if len(cache) >= _MAX_CACHED_REASONS:
                    cache.clear()
                cache[reason] = (reason, text)
            parts.append(text)
        return f"[{','.join(parts)}]"

    @property
    def tree_head(self) -> TreeHead:
        """Origin, size and RFC 9162 root hash of the records written so far."""
        with self._lock:
            self._fold()
            return TreeHead(self.origin, self._tree.size, self._tree.root())

    @property
    def signed(self) -> bool:
        return self._signer is not None

    @property
    def witness_stats(self) -> tuple[int, int]:
        """``(cosignatures received, failed submissions)`` so far."""
        pool = self._witness
        return (pool.cosigned, pool.errors) if pool is not None else (0, 0)

    @property
    def timestamp_stats(self) -> tuple[int, int]:
        """``(RFC 3161 tokens received, failed TSA requests)`` so far."""
        pool = self._witness
        return (pool.timestamps, pool.timestamp_errors) if pool is not None else (0, 0)

    @property
    def redactor(self) -> Redactor:
        """This log's redaction (parameter list and key): use it for log lines and
        for the messages the core builds, so all show the same tokens."""
        return self._redactor

    @property
    def checkpoint(self) -> Checkpoint:
        """The last sequence number and hash written (``0`` and zeros when empty)."""
        with self._lock:
            return Checkpoint(self._seq, self._hash, str(self.path))

    def sync(self) -> None:
        """fsync now (``append`` does it in batches, ``close`` at the end)."""
        with self._lock:
            if self._fd is not None and self._failed is None:
                self._fsync()

    def close(self) -> None:
        """Flush to disk and close. Idempotent."""
        with self._lock:
            if self._fd is None:
                return
            try:
                if self._failed is None and self._unsynced:
                    self._fsync()
                self._fold()
                if self._failed is None and self._tree.size != self._cp_size:
                    self._write_checkpoint()
            finally:
                self._close_fd()
        if self._sync_thread is not None:
            self._sync_wanted.set()  # it sees the log closed and ends
            self._sync_thread.join(timeout=30)
        try:
            if self._witness is not None:  # its thread sends the last checkpoint
                self._witness.close()
        finally:
            self._sidecar.close()

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AuditLog {str(self.path)!r} seq={self._seq}>"

    # -- internals (called with the lock held) --------------------------------

    def _fold(self) -> None:
        """Add the records written since the last fold to the tree (and the witnesses')."""
        lines = self._unfolded
        if not lines:
            return
        tree, witness = self._tree, self._witness
        for line in lines:
            leaf = _sha256(b"\x00" + line[:-1]).digest()  # RFC 9162 leaf: no newline
            tree.append(leaf)
            if witness is not None:
                witness.add_leaf(leaf)
        lines.clear()

    def _restore_tree(self) -> CompactRange:
        """The compact range at ``self._seq``: from the sidecar's last checkpoint
        when it is there (a clean close), else rebuilt once from the records."""
        entry = last_checkpoint_entry(sidecar_path(self.path))
        if entry is not None and entry.head is not None and entry.head.size == self._seq:
            compact = stored_range(entry)
            if compact is not None:
                return compact
        compact = CompactRange()
        for file in log_files(self.path):
            with open_read_nofollow(file) as handle:
                for raw in iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""):
                    if raw[-1:] == b"\n":
                        compact.append(_sha256(b"\x00" + raw[:-1]).digest())
        if compact.size != self._seq:
            raise AuditLogError(
                f"{self.path}: the files hold {compact.size} complete line(s) but the chain "
                f"ends at seq {self._seq}; run 'crawler-compliance audit verify {self.path}'"
            )
        return compact

    def _write_checkpoint(self) -> None:
        """Append a checkpoint of the tree as it stands (best effort: a failure is
        counted in ``checkpoint_errors``; the records themselves are safe)."""
        if self._fd is None:
            return
        self._fold()
        tree = self._tree
        try:
            if self._unsynced and self._failed is None:
                self._fsync()  # never a checkpoint over records a crash could lose
            head = TreeHead(self.origin, tree.size, tree.root())
            note = make_checkpoint(head, self._signer)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self._sidecar.write(
                {
                    "type": EntryType.CHECKPOINT,
                    "note": note,
                    "range": [h.hex() for h in tree.hashes],
                    "ts": stamp,
                },
            )  # not fsynced: a checkpoint lost to a power cut is rewritten, records are not
        except (OSError, AuditLogError):
            self.checkpoint_errors += 1
            return
        self._cp_size = tree.size
        self.last_checkpoint_note = note
        if self._witness is not None:
            self._witness.submit(head, note)

    def _resume(
        self, segments: list[tuple[int, Path]], marked: int | None
    ) -> tuple[int, str, str] | None:
        """The ``(seq, hash, ts)`` to continue from; refuse a log that cannot be continued."""
        if not segments:
            self._drop_marker()  # a rotation that stopped before its rename
            return _read_tail(self.path) if self._size else None
        before = _read_tail(segments[-1][1])
        if not self._size:
            if marked != segments[-1][0]:
                raise AuditLogError(_moved_aside(self.path, "is empty"))
            # Killed between a rotation's rename and the new file's first record.
            self._marker_pending = True
            return before
        seq, prev = _read_head(self.path)
        if (seq, prev) != (before[0] + 1, before[1]):
            raise AuditLogError(
                _moved_aside(
                    self.path,
                    f"does not continue {segments[-1][1].name} (it starts at seq {seq}, "
                    f"not {before[0] + 1})",
                )
            )
        self._drop_marker()  # the rotation finished; its marker was left behind
        return _read_tail(self.path)

    def _end_rotation(self) -> None:
        # Sync the new file's first record, then drop the marker: after a power
        # loss there is either the marker or a record to continue from.
        self._fsync()
        self._drop_marker()

    def _drop_marker(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._marker)
        self._marker_pending = False

    def _open_live(self) -> int:
        fd = open_nofollow(self.path, _OPEN_FLAGS, _FILE_MODE)
        try:
            # os.open's mode is filtered by the umask, which can only remove
            # bits; fchmod also tightens a pre-existing file to owner-only.
            if hasattr(os, "fchmod"):
                os.fchmod(fd, _FILE_MODE)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise AuditLogError(
                        f"{self.path}: another process is writing this audit log; "
                        "two writers would fork its hash chain (give each crawl its own file)"
                    ) from None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _write_rest(self, line: bytes, written: int) -> None:
        """Write what the first write(2) of *line* left (*written* bytes went)."""
        assert self._fd is not None
        view = memoryview(line)[written:]
        try:
            while view:
                written = _os_write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: OSError) -> NoReturn:
        # A partial line may now end the file; appending after it would
        # turn a torn tail into mid-file damage. Fail closed from here on.
        self._failed = exc
        raise AuditLogError(f"{self.path}: cannot write audit record: {exc}") from exc

    def _sync_loop(self) -> None:
        """The background fsync: on request, or every ``fsync_interval`` seconds.

        It syncs a duplicate of the descriptor outside the lock, so appends go
        on while the disk works, and a rotation or close meanwhile cannot make
        it sync another file.
        """
        while True:
            self._sync_wanted.wait(self._fsync_interval)
            self._sync_wanted.clear()
            with self._lock:
                self._sync_requested = False
                if self._fd is None:
                    return
                if self._failed is not None or not self._unsynced:
                    continue
                fd, pending = os.dup(self._fd), self._unsynced
            try:
                _sync(fd)
            except OSError as exc:
                with self._lock:
                    self._failed = exc  # every later append fails: fail closed
                continue
            finally:
                os.close(fd)
            with self._lock:
                self._unsynced = max(0, self._unsynced - pending)
                self._last_sync = _monotonic()

    def _fsync(self) -> None:
        assert self._fd is not None
        try:
            _sync(self._fd)
        except OSError as exc:
            self._failed = exc
            raise AuditLogError(f"{self.path}: cannot fsync audit log: {exc}") from exc
        self._unsynced = 0
        self._last_sync = _monotonic()

    def _rotate(self) -> None:
        self._fsync()
        target = segment_name(self.path, self._next_segment)
        while os.path.lexists(target):  # never overwrite a segment (nor a link there)
            self._next_segment += 1
            target = segment_name(self.path, self._next_segment)
        _refuse_replaced(self.path, self._fd)  # never rename a planted link or another file
        # The marker says "the live file is being renamed to <target>": without
        # it, a missing or empty live file next to rotated ones is refused.
        _write_marker(self._marker, self._next_segment)
        _fsync_dir(self.path.parent)
        self._marker_pending = True
        os.rename(self.path, target)
        self._next_segment += 1
        self._close_fd()
        self._fd = self._open_live()
        self._size = 0
        _fsync_dir(self.path.parent)


_sha256 = hashlib.sha256


def _default_origin(path: Path, signer: Signer | None) -> str:
    # C2SP tlog-checkpoint: the log's key name SHOULD match the origin line.
    if signer is not None:
        return signer.name
    name = "".join(
        c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else "_" for c in path.name
    )
    return f"crawler-compliance/{name}"


def _check_origin(origin: str) -> str:
    if not origin or any(c in origin for c in "\n\r") or not origin.isprintable():
        raise ValueError(f"{origin!r} is not a checkpoint origin: one non-empty line of text")
    return origin


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parent, each ``0700`` whatever the umask."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for level in reversed(missing):
        try:
            os.mkdir(level, _DIR_MODE)
        except FileExistsError:  # created meanwhile by someone else: not ours
            continue
        os.chmod(level, _DIR_MODE)


def _tighten(path: Path) -> None:
    """Make an existing rotated file owner-only, like the live one (best effort).

    Through a descriptor opened without following links: a link planted at a
    rotated file's name is refused, its target never ``chmod``-ed.
    """
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        with contextlib.suppress(OSError):  # not ours, or read-only storage
            os.fchmod(fd, _FILE_MODE)
    finally:
        os.close(fd)


def _refuse_replaced(path: Path, fd: int | None) -> None:
    """Before a rotation renames *path*: it must still be the file we write to."""
    refuse_link(path)
    if fd is not None:
        ours, there = os.fstat(fd), os.lstat(path)
        if (ours.st_dev, ours.st_ino) != (there.st_dev, there.st_ino):
            raise AuditLogError(_moved_aside(path, "was replaced while the crawl wrote to it"))


def _write_marker(marker: Path, number: int) -> None:
    # O_NOFOLLOW: a link planted at the marker's name is refused, its target never truncated.
    fd = open_nofollow(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    try:
        os.write(fd, f"{number}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _moved_aside(path: Path, what: str) -> str:
    return (
        f"{path}: the live audit file {what}, but rotated files {path.name}.NNNNNN "
        "exist and no rotation was under way: the live file was moved aside, deleted or "
        "replaced, and continuing would reuse sequence numbers and hide its records. "
        f"Run 'crawler-compliance audit verify {path}', keep these files together as "
        "the record, and point the crawl at a NEW file name"
    )


def _damaged(path: Path, what: str) -> AuditLogError:
    return AuditLogError(
        f"{path}: the {what} record is damaged or altered, so the chain cannot be "
        f"continued. Run 'crawler-compliance audit verify {path}'"
    )


def _checked(path: Path, line: bytes, what: str) -> dict[str, Any]:
    try:
        return check_line(line)
    except RecordError:
        raise _damaged(path, what) from None


def _read_head(path: Path) -> tuple[int, str]:
    """``(seq, prev)`` of the first record of ``path``."""
    with open_read_nofollow(path) as f:
        line = f.readline(MAX_LINE_BYTES)
    record = _checked(path, line, "first")
    return record["seq"], record["prev"]


def _read_tail(path: Path) -> tuple[int, str, str]:
    """``(seq, hash, ts)`` of the last record of ``path``; refuse a damaged tail."""
    with open_read_nofollow(path) as f:
        end = f.seek(0, os.SEEK_END)
        if end == 0:
            raise AuditLogError(f"{path}: empty rotated audit file; run 'audit verify'")
        f.seek(end - 1)
        if f.read(1) != b"\n":
            raise AuditLogError(
                f"{path}: the last line is incomplete (the writer was probably killed "
                f"mid-write). Run 'crawler-compliance audit verify {path}' to see how many "
                "records are intact, keep the file as evidence, and point the crawl at a "
                "NEW file name"
            )
        chunks: list[bytes] = []
        pos = end - 1  # the final newline; the last record ends just before it
        size = 0
        while pos > 0:
            if size > MAX_LINE_BYTES:
                raise _damaged(path, "last")
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step)
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk:
                break
        last = b"".join(reversed(chunks)).rpartition(b"\n")[2] + b"\n"
    record = _checked(path, last, "last")
    return record["seq"], record["hash"], record["ts"]
