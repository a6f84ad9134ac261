"""Send checkpoints to witnesses (C2SP tlog-witness) and a TSA (RFC 3161) from a
background thread.

A witness keeps the latest checkpoint it cosigned for each log origin and
cosigns a new one only when a consistency proof shows it extends that one, so a
log that was rewritten, truncated or forked cannot get a cosignature again.

Everything here runs on one daemon thread, never on the writer's (or the
reactor's) thread: :meth:`WitnessPool.submit` only hands over the newest
checkpoint. A failed submission is recorded in the sidecar
(``witness_error``) and the log, and retried with the next checkpoint or after
``retry_interval`` seconds; it never fails the crawl.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler_compliance.audit._checkpoints import EntryType, read_sidecar, sidecar_path
from crawler_compliance.audit._merkle import CompactRange, PartialTree, ProofError
from crawler_compliance.audit._note import Note, NoteError, SignatureType, TreeHead, Verifier
from crawler_compliance.audit._tsa import TimestampAuthority, TimestampError, fetch_token

if TYPE_CHECKING:
    from pathlib import Path

    from crawler_compliance.audit._checkpoints import Sidecar

logger = logging.getLogger("crawler_compliance.audit")

MAX_RESPONSE_BYTES = 64 * 1024
MAX_PROOF_LINES = 63  # tlog-witness: a client MUST NOT send more
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class WitnessError(Exception):
    """A witness refused a checkpoint or could not be reached."""


@dataclass(frozen=True)
class Witness:
    """A witness: its cosigning verifier key (type 0x04) and submission URL prefix."""

    verifier: Verifier
    url: str

    @classmethod
    def parse(cls, text: str) -> Witness:
        """``"<verifier key> <submission URL prefix>"``; raise ``ValueError``."""
        parts = text.split()
        if len(parts) != 2:
            raise ValueError(
                f"{text[:80]!r} is not a witness: expected 'VERIFIER_KEY URL' "
                "(the witness's cosigning key and its submission prefix)"
            )
        verifier = Verifier.parse(parts[0])
        if verifier.kind is not SignatureType.COSIGNATURE_V1:
            raise ValueError(f"{verifier.name}: a witness key has signature type 0x04")
        if not parts[1].startswith(("http://", "https://")):
            raise ValueError(f"{verifier.name}: the witness URL must be http:// or https://")
        return cls(verifier, parts[1].rstrip("/"))

    @property
    def name(self) -> str:
        return self.verifier.name


def request_body(old: int, proof: list[bytes], checkpoint: str) -> bytes:
    """The add-checkpoint request: old size, proof lines, a blank line, the checkpoint."""
    lines = [f"old {old}\n"] + [base64.b64encode(h).decode() + "\n" for h in proof]
    return ("".join(lines) + "\n" + checkpoint).encode()


def add_checkpoint(
    witness: Witness, old: int, proof: list[bytes], checkpoint: str, timeout: float
) -> tuple[int, str, str]:
    """POST one add-checkpoint; return ``(status, content type, body text)``."""
    request = urllib.request.Request(
        witness.url + "/add-checkpoint",
        data=request_body(old, proof, checkpoint),
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES)
            return response.status, response.headers.get("Content-Type", ""), _text(body)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE_BYTES)
        return exc.code, exc.headers.get("Content-Type", ""), _text(body)


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


class WitnessPool:
    """The background submitter one :class:`AuditLog` owns when it has witnesses."""

    def __init__(
        self,
        log_path: Path,
        sidecar: Sidecar,
        witnesses: list[Witness],
        base: CompactRange,
        *,
        timeout: float = 10.0,
        retry_interval: float = 30.0,
        tsa: TimestampAuthority | None = None,
    ) -> None:
        self._path = log_path
        self._sidecar = sidecar
        self._witnesses = witnesses
        self._timeout = timeout
        self._retry = retry_interval
        self._cond = threading.Condition()
        self._base = base
        self._leaves: list[bytes] = []
        self._pending: tuple[TreeHead, str] | None = None
        self._closing = False
        self._busy = False
        self.sizes: dict[str, int] = self._known_sizes()
        """The latest size each witness cosigned (as far as this log knows)."""
        self.cosigned = 0
        self.errors = 0
        self._tsa = tsa
        self._tsa_size = -1
        self.timestamps = 0
        self.timestamp_errors = 0
        self._thread = threading.Thread(
            target=self._run, name="crawler-compliance-witness", daemon=True
        )
        self._thread.start()

    def _known_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        names = {w.name for w in self._witnesses}
        for entry in read_sidecar(sidecar_path(self._path)):
            if isinstance(entry, str) or entry.type != EntryType.COSIGNED or entry.head is None:
                continue
            name = entry.data.get("witness")
            if name in names:
                sizes[name] = max(sizes.get(name, 0), entry.head.size)
        return sizes

    # -- called by the writer (cheap, never blocks on the network) --------------

    def add_leaf(self, leaf: bytes) -> None:
        with self._cond:
            self._leaves.append(leaf)

    def submit(self, head: TreeHead, note: str) -> None:
        with self._cond:
            self._pending = (head, note)
            self._cond.notify()

    def close(self) -> None:
        """Let the last checkpoint go out (bounded by the timeout), then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(self._timeout * (len(self._witnesses) + 1))

    # -- the background thread ----------------------------------------------------

    def _run(self) -> None:
        last: tuple[TreeHead, str] | None = None
        while True:
            with self._cond:
                if self._pending is None and not self._closing:
                    self._cond.wait(self._retry)
                job = self._pending or last
                self._pending = None
                closing = self._closing
            if job is not None:
                head, note = job
                behind = [w for w in self._witnesses if self.sizes.get(w.name, -1) < head.size]
                for witness in behind:
                    self._send(witness, head, note)
                if self._tsa is not None and self._tsa_size < head.size:
                    self._timestamp(self._tsa, head, note)
                self._trim()
                last = job
            if closing:
                with self._cond:
                    if self._pending is None:
                        return

    def _send(self, witness: Witness, head: TreeHead, note: str) -> None:
        old = self.sizes.get(witness.name, 0)
        try:
            for _ in range(2):  # a 409 tells us the witness's size: one retry with it
                if old > head.size:
                    raise WitnessError(
                        f"it has cosigned size {old}, larger than this log's {head.size}: "
                        "the log was truncated or forked"
                    )
                proof = self._proof(old, head.size)
                status, ctype, body = add_checkpoint(witness, old, proof, note, self._timeout)
                if status == 200:
                    self._accept(witness, head, note, body)
                    return
                if status == 409 and ctype.split(";")[0].strip() == SIZE_CONTENT_TYPE:
                    text = body.strip()
                    if text.isdigit() and int(text) != old:
                        old = int(text)
                        continue
                raise WitnessError(f"HTTP {status}: {body.strip()[:200]}")
            raise WitnessError("it keeps answering 409 Conflict")
        except (OSError, WitnessError, ProofError, NoteError, ValueError) as exc:
            self._failed(witness, head, exc)

    def _accept(self, witness: Witness, head: TreeHead, note: str, body: str) -> None:
        lines = [line + "\n" for line in body.split("\n") if line]
        try:
            cosigned = Note.parse(note + "".join(lines))
            good = cosigned.verified_by([witness.verifier])
        except NoteError as exc:
            raise WitnessError(f"its response is not a valid cosignature: {exc}") from None
        if witness.name not in good:
            raise WitnessError("its response holds no cosignature from its key")
        mine = [s for s in cosigned.signatures if s.line not in note]
        text = note + "".join(s.line for s in mine if s.name == witness.name)
        self._sidecar.write(
            {
                "type": EntryType.COSIGNED,
                "note": text,
                "witness": witness.name,
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        self.sizes[witness.name] = head.size
        self.cosigned += 1

    def _timestamp(self, tsa: TimestampAuthority, head: TreeHead, note: str) -> None:
        try:
            token = fetch_token(tsa, note.encode(), self._timeout)
        except (OSError, TimestampError, ValueError) as exc:
            self.timestamp_errors += 1
            message = str(exc)[:300]
            logger.warning(
                "crawler-compliance: the TSA did not timestamp checkpoint %(size)s: "
                "%(error)s (retried later)",
                {"size": head.size, "error": message},
            )
            with contextlib.suppress(OSError):
                self._sidecar.write(
                    {
                        "type": EntryType.TIMESTAMP_ERROR,
                        "size": head.size,
                        "error": message,
                        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    }
                )
            return
        self._sidecar.write(
            {
                "type": EntryType.TIMESTAMP,
                "note": note,
                "token": base64.b64encode(token).decode(),
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        self._tsa_size = head.size
        self.timestamps += 1

    def _failed(self, witness: Witness, head: TreeHead, exc: BaseException) -> None:
        self.errors += 1
        message = str(exc)[:300]
        logger.warning(
            "crawler-compliance: witness %(witness)s did not cosign checkpoint %(size)s: "
            "%(error)s (retried later)",
            {"witness": witness.name, "size": head.size, "error": message},
        )
        with contextlib.suppress(OSError):
            self._sidecar.write(
                {
                    "type": EntryType.WITNESS_ERROR,
                    "witness": witness.name,
                    "size": head.size,
                    "error": message,
                    "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )

    def _proof(self, old: int, size: int) -> list[bytes]:
        with self._cond:
            base = self._base.copy()
            leaves = self._leaves[: size - base.size] if size >= base.size else []
        if old >= base.size and size >= base.size:
            return PartialTree(base, leaves).consistency(old, size)
        # The witness is further back than what is held in memory (an earlier
        # run): read the log, on this thread.
        from crawler_compliance.audit._tlog import read_tree

        tree, _ = read_tree(self._path)
        return tree.consistency(old, size)

    def _trim(self) -> None:
        """Forget leaves every witness has moved past (keep O(log n) + backlog)."""
        with self._cond:
            target = self._base.size + len(self._leaves)
            sizes = [self.sizes.get(w.name, 0) for w in self._witnesses]
            keep_from = min([s for s in sizes if s > 0] or [target])
            drop = max(0, min(keep_from, target) - self._base.size)
            for leaf in self._leaves[:drop]:
                self._base.append(leaf)
            del self._leaves[:drop]
