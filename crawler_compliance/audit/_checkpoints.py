"""The checkpoint sidecar ``<log>.checkpoints``: append-only JSON Lines.

One object per line, keys sorted (public contract, see README "Audit log
formats"):

- ``{"type": "checkpoint", "note": <C2SP checkpoint note>, "range": [<hex>, …],
  "ts": <UTC time>}``: a tree head the writer produced (signed when it has a
  key); ``range`` is the writer's compact range at that size, so a reopened
  log continues its tree without reading the records again.
- ``{"type": "cosigned", "note": <the checkpoint with the witnesses'
  cosignature lines added>, "witness": <name>, "ts": …}``: a witness's
  cosignature (C2SP tlog-cosignature), stored as a complete note.
- ``{"type": "witness_error", "witness": <name>, "size": n, "error": <text>,
  "ts": …}``: a submission that failed (it is retried).
- ``{"type": "timestamp", "note": <checkpoint>, "token": <base64 DER
  TimeStampResp>, "ts": …}``: an RFC 3161 token over the note's exact text;
  ``{"type": "timestamp_error", "size": n, "error": <text>, "ts": …}``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from crawler_compliance.audit._files import open_nofollow
from crawler_compliance.audit._merkle import CompactRange
from crawler_compliance.audit._note import Note, NoteError, TreeHead

SIDECAR_SUFFIX = ".checkpoints"
MAX_SIDECAR_LINE = 1 << 20
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class EntryType:
    CHECKPOINT = "checkpoint"
    COSIGNED = "cosigned"
    WITNESS_ERROR = "witness_error"
    TIMESTAMP = "timestamp"
    TIMESTAMP_ERROR = "timestamp_error"


def sidecar_path(log: str | os.PathLike[str]) -> Path:
    path = Path(log)
    return path.with_name(path.name + SIDECAR_SUFFIX)


class SidecarEntry(NamedTuple):
    """One readable line of the sidecar, its checkpoint parsed."""

    lineno: int
    type: str
    data: dict[str, Any]
    note: Note | None
    head: TreeHead | None


def read_sidecar(path: str | os.PathLike[str]) -> Iterator[SidecarEntry | str]:
    """Each entry of a sidecar, or a one-line problem for a line that is not one."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return
    except OSError as exc:
        yield f"{path}: cannot be read ({exc.strerror or exc})"
        return
    with handle:
        for lineno, raw in enumerate(iter(lambda: handle.readline(MAX_SIDECAR_LINE), b""), 1):
            where = f"{path}:{lineno}"
            if raw[-1:] != b"\n" and not handle.peek(1):
                continue  # a torn last entry (power loss mid-write): never complete
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                yield f"{where}: not a checkpoint entry"
                continue
            if type(data) is not dict or not isinstance(data.get("type"), str):
                yield f"{where}: not a checkpoint entry"
                continue
            note = head = None
            if isinstance(data.get("note"), str):
                try:
                    note = Note.parse(data["note"], allow_unsigned=True)
                    head = TreeHead.parse(note.text)
                except NoteError as exc:
                    yield f"{where}: {exc}"
                    continue
            yield SidecarEntry(lineno, data["type"], data, note, head)


def last_checkpoint_entry(path: str | os.PathLike[str]) -> SidecarEntry | None:
    last = None
    for entry in read_sidecar(path):
        if isinstance(entry, SidecarEntry) and entry.type == EntryType.CHECKPOINT:
            last = entry
    return last


def stored_range(entry: SidecarEntry) -> CompactRange | None:
    """The compact range an entry recorded, when it is well-formed and matches its root."""
    hashes = entry.data.get("range")
    if entry.head is None or not isinstance(hashes, list):
        return None
    try:
        compact = CompactRange(entry.head.size, [bytes.fromhex(h) for h in hashes])
    except (TypeError, ValueError):
        return None
    if any(len(h) != 32 for h in compact.hashes) or compact.root() != entry.head.root:
        return None
    return compact


class Sidecar:
    """The writer's handle on the sidecar: one ``write(2)`` per entry, thread-safe."""

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        self.path = path
        self._lock = threading.Lock()
        # Never through a symbolic link planted at the sidecar's name (see _files).
        self._fd: int | None = open_nofollow(path, _OPEN_FLAGS, mode)
        if hasattr(os, "fchmod"):
            os.fchmod(self._fd, mode)
        _drop_torn_tail(path, self._fd)

    def write(self, entry: dict[str, Any], *, sync: bool = False) -> None:
        line = json.dumps(entry, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        data = (line + "\n").encode("ascii")
        with self._lock:
            if self._fd is None:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if sync:
                getattr(os, "fdatasync", os.fsync)(self._fd)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _drop_torn_tail(path: Path, fd: int) -> None:
    """Cut an incomplete last entry (a crash mid-write) so the next one starts a line."""
    size = os.fstat(fd).st_size
    if not size:
        return
    with open(path, "rb") as handle:
        start = max(0, size - MAX_SIDECAR_LINE)
        handle.seek(start)
        tail = handle.read()
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    os.ftruncate(fd, start + cut + 1 if cut >= 0 else start)
