"""The transparency side of the log: checkpoints checked, proofs built and verified.

- :func:`verify_tlog`: the hash chain (``verify_chain``) plus every checkpoint in
  the sidecar against the tree, their signatures, an older checkpoint kept
  elsewhere (``from_note``), and a quorum of witness cosignatures.
- :func:`prove`: a self-contained proof bundle for one record.
- :func:`verify_bundle`: check a bundle with nothing but a verifier key.
- :func:`consistency`: an RFC 9162 proof that the log extends an older checkpoint.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crawler_compliance.audit._checkpoints import (
    EntryType,
    SidecarEntry,
    read_sidecar,
    sidecar_path,
)
from crawler_compliance.audit._merkle import (
    EMPTY_ROOT,
    HashSource,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from crawler_compliance.audit._note import Note, NoteError, TreeHead, Verifier
from crawler_compliance.audit._records import (
    MAX_LINE_BYTES,
    Checkpoint,
    RecordError,
    check_line,
    log_files,
)
from crawler_compliance.audit._tsa import TimestampError, verify_token
from crawler_compliance.audit._verify import (
    SignatureStatus,
    VerifyReport,
    VerifyStatus,
    verify_chain,
)

_TREE_ENTRIES = (EntryType.CHECKPOINT, EntryType.COSIGNED, EntryType.TIMESTAMP)
if TYPE_CHECKING:
    from cryptography import x509

BUNDLE_KEYS = ("record", "leaf_index", "tree_size", "inclusion", "checkpoint")
MAX_BUNDLE_BYTES = 2 * MAX_LINE_BYTES
MAX_PROOF_HASHES = 64


class ProofBundleError(ValueError):
    """A proof cannot be made or does not verify; the message says why."""


class OldCheckpoint(NamedTuple):
    """A checkpoint note kept outside the log (from a witness, a ticket, an email)."""

    note: Note
    head: TreeHead
    source: str

    @classmethod
    def parse(cls, text: str, source: str = "the old checkpoint") -> OldCheckpoint:
        try:
            note = Note.parse(text, allow_unsigned=True)
            return cls(note, TreeHead.parse(note.text), source)
        except NoteError as exc:
            raise ProofBundleError(f"{source} is not a checkpoint: {exc}") from None


def _root_at(roots: dict[int, bytes], size: int) -> bytes | None:
    return EMPTY_ROOT if size == 0 else roots.get(size)


def verify_tlog(
    path: str | os.PathLike[str],
    *,
    key: Verifier | None = None,
    from_checkpoint: OldCheckpoint | None = None,
    witnesses: Sequence[Verifier] = (),
    quorum: int | None = None,
    checkpoint: Checkpoint | str | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> VerifyReport:
    """Verify chain, tree, checkpoints, signatures, witnesses and RFC 3161 tokens.

    With ``tsa_roots``, every timestamp token in the sidecar must verify
    against one of those root certificates, and at least one must exist.
    """
    entries: list[SidecarEntry] = []
    sidecar_problem = None
    for entry in read_sidecar(sidecar_path(path)):
        if isinstance(entry, str):
            sidecar_problem = sidecar_problem or entry
        elif entry.head is not None and entry.type in _TREE_ENTRIES:
            entries.append(entry)
    sizes = {e.head.size for e in entries if e.head is not None}
    if from_checkpoint is not None:
        sizes.add(from_checkpoint.head.size)
    report, roots = verify_chain(path, checkpoint, tree_sizes=sizes)
    checkpoints = [e for e in entries if e.type == EntryType.CHECKPOINT]
    signature = _signature_status(checkpoints, key)
    report = report._replace(checkpoints=len(checkpoints), signature=signature)
    if not report.ok:
        return report
    side = str(sidecar_path(path))

    def fail(status: VerifyStatus, message: str) -> VerifyReport:
        return report._replace(ok=False, status=status, problem=message)

    if sidecar_problem is not None:
        return fail(VerifyStatus.TAMPERED, sidecar_problem)
    for entry in entries:
        assert entry.head is not None
        problem = _against_tree(entry.head, roots, report.intact, f"{side}:{entry.lineno}")
        if problem is not None:
            return fail(*problem)
    if key is not None:
        for entry in checkpoints:
            assert entry.note is not None
            try:
                ok = key.name in entry.note.verified_by([key])
            except NoteError:
                ok = False
            if not ok:
                return fail(
                    VerifyStatus.BAD_SIGNATURE,
                    f"{side}:{entry.lineno}: the checkpoint at size "
                    f"{entry.head.size if entry.head else '?'} is not signed by {key.name} "
                    f"(unsigned, altered, or signed by another key)",
                )
    if from_checkpoint is not None:
        old = from_checkpoint
        if key is not None:
            try:
                signed = key.name in old.note.verified_by([key])
            except NoteError:
                signed = False
            if not signed:
                return fail(VerifyStatus.BAD_SIGNATURE, f"{old.source} is not signed by {key.name}")
        problem = _against_tree(old.head, roots, report.intact, old.source)
        if problem is not None:
            return fail(*problem)
    if key is not None and not checkpoints and from_checkpoint is None:
        return fail(
            VerifyStatus.BAD_SIGNATURE,
            f"no checkpoint signed by {key.name}: {side} is missing or empty",
        )
    if tsa_roots:
        stamps = [e for e in entries if e.type == EntryType.TIMESTAMP]
        newest: tuple[int, str] | None = None
        for entry in stamps:
            assert entry.head is not None and entry.note is not None
            try:
                token = base64.b64decode(str(entry.data.get("token", "")), validate=True)
                when = verify_token(token, str(entry.data["note"]).encode(), tsa_roots)
            except (TimestampError, ValueError) as exc:
                return fail(
                    VerifyStatus.BAD_TIMESTAMP,
                    f"{side}:{entry.lineno}: the timestamp of the checkpoint at size "
                    f"{entry.head.size} does not verify: {exc}",
                )
            if newest is None or entry.head.size >= newest[0]:
                newest = (entry.head.size, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if newest is None:
            return fail(VerifyStatus.UNTIMESTAMPED, f"no checkpoint in {side} has a timestamp")
        report = report._replace(timestamped=newest)
    if witnesses:
        notes = [e.note for e in entries if e.note is not None and e.type == EntryType.COSIGNED]
        if from_checkpoint is not None:
            notes.append(from_checkpoint.note)
        witnessed = _witnessed(notes, witnesses)
        report = report._replace(witnessed=witnessed)
        need = len(witnesses) if quorum is None else quorum
        if len(witnessed) < need:
            names = ", ".join(sorted(witnessed)) or "none"
            return fail(
                VerifyStatus.UNWITNESSED,
                f"only {len(witnessed)} of the {need} witness cosignature(s) required "
                f"verify (cosigned by: {names})",
            )
    return report


def _against_tree(
    head: TreeHead, roots: dict[int, bytes], intact: int, where: str
) -> tuple[VerifyStatus, str] | None:
    if head.size > intact:
        return (
            VerifyStatus.TRUNCATED,
            f"truncated: {where} is a checkpoint of {head.size} record(s) but the log "
            f"holds {intact}: {head.size - intact} record(s) missing from the end",
        )
    if _root_at(roots, head.size) != head.root:
        return (
            VerifyStatus.REWRITTEN,
            f"rewritten: the first {head.size} record(s) no longer hash to the root of "
            f"{where}: records up to seq {head.size} were changed since it was made",
        )
    return None


def _signature_status(checkpoints: list[SidecarEntry], key: Verifier | None) -> SignatureStatus:
    if not checkpoints:
        return SignatureStatus.NO_CHECKPOINTS
    if all(e.note is not None and not e.note.signatures for e in checkpoints):
        return SignatureStatus.UNSIGNED
    return SignatureStatus.NOT_CHECKED if key is None else SignatureStatus.SIGNED


def _witnessed(notes: list[Note], witnesses: Sequence[Verifier]) -> dict[str, int]:
    """``{witness name: largest cosigned size}`` over notes the tree was checked against."""
    best: dict[str, int] = {}
    for note in notes:
        try:
            good = note.verified_by(list(witnesses))
            size = TreeHead.parse(note.text).size
        except NoteError:
            continue
        for name in good:
            best[name] = max(best.get(name, 0), size)
    return best


def read_tree(
    path: str | os.PathLike[str], wanted: int | None = None
) -> tuple[HashSource, bytes | None]:
    """The tree over every complete line of the log, and the line of leaf ``wanted``."""
    files = log_files(path)
    if not files:
        raise FileNotFoundError(2, "no audit log (nor rotated files) at this path", str(path))
    leaves = bytearray()  # 32 bytes per record: 32 MB for a million
    count = 0
    found = None
    for file in files:
        with open(file, "rb") as handle:
            for raw in iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""):
                if raw[-1:] != b"\n":
                    break
                if count == wanted:
                    found = raw[:-1]
                leaves += leaf_hash(raw[:-1])
                count += 1
    return HashSource(bytes(leaves)), found


def latest_checkpoint(path: str | os.PathLike[str]) -> OldCheckpoint | None:
    """The newest checkpoint of the sidecar (the largest tree; cosigned when it was)."""
    best: SidecarEntry | None = None
    for entry in read_sidecar(sidecar_path(path)):
        if isinstance(entry, str) or entry.head is None or entry.note is None:
            continue
        if entry.type not in (EntryType.CHECKPOINT, EntryType.COSIGNED):
            continue
        if best is None or best.head is None or entry.head.size >= best.head.size:
            best = entry
    if best is None or best.note is None or best.head is None:
        return None
    return OldCheckpoint(best.note, best.head, f"{sidecar_path(path)}:{best.lineno}")


def prove(
    path: str | os.PathLike[str], seq: int, checkpoint: OldCheckpoint | None = None
) -> dict[str, Any]:
    """The proof bundle for record ``seq`` under ``checkpoint`` (default: the newest)."""
    checkpoint = checkpoint or latest_checkpoint(path)
    if checkpoint is None:
        raise ProofBundleError(
            f"{path}: no checkpoint in {sidecar_path(path).name} to prove against"
        )
    size = checkpoint.head.size
    if not 1 <= seq <= size:
        raise ProofBundleError(
            f"seq {seq} is not covered by the checkpoint ({checkpoint.source} covers seq 1 to "
            f"{size}); a later checkpoint is written every N records and at close"
        )
    tree, line = read_tree(path, seq - 1)
    if tree.size < size:
        raise ProofBundleError(
            f"{path}: the log holds {tree.size} record(s) but the checkpoint covers {size}: "
            "it was truncated (run 'audit verify')"
        )
    if tree.root(size) != checkpoint.head.root:
        raise ProofBundleError(
            f"{path}: the records no longer match the checkpoint's root hash: the log was "
            "altered (run 'audit verify')"
        )
    assert line is not None
    return {
        "record": line.decode("utf-8"),
        "leaf_index": seq - 1,
        "tree_size": size,
        "inclusion": [h.hex() for h in tree.inclusion(seq - 1, size)],
        "checkpoint": checkpoint.note.render(),
    }


class ProvenRecord(NamedTuple):
    """What a verified bundle establishes."""

    record: dict[str, Any]
    head: TreeHead
    signed_by: str
    witnessed_by: dict[str, int]


def verify_bundle(
    data: bytes | str | dict[str, Any],
    key: Verifier,
    *,
    witnesses: Sequence[Verifier] = (),
    quorum: int | None = None,
) -> ProvenRecord:
    """Check a proof bundle with only the log's verifier key (and witness keys)."""
    if isinstance(data, (bytes, str)):
        if len(data) > MAX_BUNDLE_BYTES:
            raise ProofBundleError("the bundle is too large to be a proof")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise ProofBundleError("the bundle is not JSON") from None
    if type(data) is not dict or set(data) != set(BUNDLE_KEYS):
        raise ProofBundleError(
            f"the bundle must be a JSON object with exactly {', '.join(BUNDLE_KEYS)}"
        )
    record, index, size = data["record"], data["leaf_index"], data["tree_size"]
    path, note_text = data["inclusion"], data["checkpoint"]
    if type(record) is not str or type(note_text) is not str:
        raise ProofBundleError("'record' and 'checkpoint' must be text")
    if type(index) is not int or type(size) is not int or not 0 <= index < size:
        raise ProofBundleError("'leaf_index' must be a whole number below 'tree_size'")
    if type(path) is not list or len(path) > MAX_PROOF_HASHES:
        raise ProofBundleError("'inclusion' must be a list of hashes")
    try:
        hashes = [bytes.fromhex(h) for h in path]
    except (TypeError, ValueError):
        raise ProofBundleError("'inclusion' holds something that is not a hex hash") from None
    if any(len(h) != 32 or h.hex() != p for h, p in zip(hashes, path, strict=True)):
        raise ProofBundleError("'inclusion' holds something that is not a lower-case SHA-256 hash")
    try:
        note = Note.parse(note_text, allow_unsigned=True)
        head = TreeHead.parse(note.text)
    except NoteError as exc:
        raise ProofBundleError(f"the checkpoint is malformed: {exc}") from None
    if not note.signatures:
        raise ProofBundleError("the checkpoint is unsigned: it proves nothing to a third party")
    try:
        signed = note.verified_by([key])
    except NoteError as exc:
        raise ProofBundleError(f"the checkpoint was altered: {exc}") from None
    if key.name not in signed:
        raise ProofBundleError(f"the checkpoint is not signed by {key.name} (the key you trust)")
    if head.size != size:
        raise ProofBundleError(f"'tree_size' {size} is not the checkpoint's size {head.size}")
    try:
        line = record.encode("utf-8")
    except UnicodeEncodeError:
        raise ProofBundleError("'record' is not UTF-8 text") from None
    try:
        verify_inclusion(index, size, leaf_hash(line), hashes, head.root)
    except ProofError as exc:
        raise ProofBundleError(f"the record is not in the signed log: {exc}") from None
    try:
        parsed = check_line(line + b"\n")
    except RecordError as exc:
        raise ProofBundleError(f"the record is not a well-formed audit record: {exc}") from None
    if parsed["seq"] != index + 1:
        raise ProofBundleError(f"the record is seq {parsed['seq']}, not leaf {index} + 1")
    witnessed: dict[str, int] = {}
    if witnesses:
        try:
            good = note.verified_by(list(witnesses))
        except NoteError as exc:
            raise ProofBundleError(f"a witness cosignature does not verify: {exc}") from None
        witnessed = {name: size for name in good}
        need = len(witnesses) if quorum is None else quorum
        if len(witnessed) < need:
            raise ProofBundleError(
                f"only {len(witnessed)} of the {need} witness cosignature(s) required verify"
            )
    return ProvenRecord(parsed, head, key.name, witnessed)


def consistency(path: str | os.PathLike[str], old: OldCheckpoint) -> dict[str, Any]:
    """An RFC 9162 consistency proof from ``old`` to the log's newest checkpoint."""
    new = latest_checkpoint(path)
    tree, _ = read_tree(path)
    size = new.head.size if new is not None else tree.size
    if old.head.size > tree.size:
        raise ProofBundleError(
            f"truncated: {old.source} covers {old.head.size} record(s) but the log holds "
            f"{tree.size}"
        )
    if tree.root(old.head.size) != old.head.root:
        raise ProofBundleError(
            f"rewritten: the log's first {old.head.size} record(s) do not hash to the root of "
            f"{old.source}: the log does not extend it"
        )
    if size > tree.size or tree.root(size) != (new.head.root if new else tree.root(size)):
        raise ProofBundleError(f"{path}: the newest checkpoint does not match the log")
    proof = tree.consistency(old.head.size, size)
    verify_consistency(old.head.size, size, old.head.root, tree.root(size), proof)
    return {
        "old_size": old.head.size,
        "old_root": base64.b64encode(old.head.root).decode(),
        "tree_size": size,
        "root": base64.b64encode(tree.root(size)).decode(),
        "consistency": [h.hex() for h in proof],
        "checkpoint": new.note.render() if new is not None else None,
    }


def load_verifier(value: str) -> Verifier:
    """A verifier key given as text, or as the name of a file holding it."""
    candidate = Path(value)
    text = value
    if "+" not in value or candidate.is_file():
        try:
            text = candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProofBundleError(f"cannot read the verifier key {value!r}: {exc}") from None
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        raise ProofBundleError(str(exc)) from None
