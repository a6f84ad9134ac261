"""Audit records for a store other than the file: the same fields, hashing and line bytes.

:class:`ChainBuilder` turns decisions into the exact lines
:class:`~crawler_compliance.audit.AuditLog` writes (the audit package's
``encode_record`` canonical text, its SHA-256, the hash spliced in last), so
a chain exported from the database *is* a JSON Lines log the file verifier
accepts, and each row keeps its line bytes for whatever leaf hashing the file
uses. Only the sequence and ``prev`` live here; nothing is re-implemented.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from crawler_compliance.audit._records import (
    GENESIS_HASH,
    MAX_LINE_BYTES,
    AuditLogError,
    AuditRecord,
    Timestamps,
    encode_record,
    record_fields,
    scrub_surrogates,
)
from crawler_compliance.audit._redact import DEFAULT_REDACT_PARAMS, Redactor


class SealedRecord(NamedTuple):
    """One record ready for a store: its seq, hash and the line bytes (newline included)."""

    seq: int
    hash: str
    line: bytes
    record: dict[str, Any]


class ChainBuilder:
    """The writer side of one hash chain, without the file: not thread-safe.

    ``append`` takes the same arguments as ``AuditLog.append`` and returns a
    :class:`SealedRecord`; the caller stores ``line`` in order.
    """

    def __init__(
        self,
        *,
        redact_params: Iterable[str] = DEFAULT_REDACT_PARAMS,
        redact_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
        run: str,
    ) -> None:
        self.run = run  # the record field "run": one id per opened chain
        self._redactor = Redactor(redact_params, redact_key)
        self._timestamps = Timestamps(clock)
        self.seq = 0
        self.hash = GENESIS_HASH

    def append(
        self,
        decision: Any,
        *,
        kind: str | None = None,
        spider: str | None = None,
        purpose: str | None = None,
        policy_fingerprint: str | None = None,
    ) -> SealedRecord:
        redactor = self._redactor
        record = record_fields(
            decision,
            redactor,
            run=self.run,
            kind=kind,
            spider=spider,
            purpose=purpose,
            policy_fingerprint=policy_fingerprint,
        )
        record["reasons"] = [redactor.reason(r.to_dict()) for r in decision.reasons]
        seq = self.seq + 1
        record["seq"] = seq
        record["ts"] = self._timestamps.next()
        record["prev"] = self.hash
        try:
            data = encode_record(record).encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: U+FFFD, as the file writer does
            record = scrub_surrogates(record)
            data = encode_record(record).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        line = b"".join((data[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n'))
        if len(line) > MAX_LINE_BYTES:
            raise AuditLogError(
                f"audit record of {len(line)} bytes is over the {MAX_LINE_BYTES}-byte "
                "limit (an enormous URL or reason); not written"
            )
        self.seq = seq
        self.hash = digest
        record["hash"] = digest
        return SealedRecord(seq, digest, line, record)

    @staticmethod
    def as_audit_record(sealed: SealedRecord) -> AuditRecord:
        return AuditRecord(sealed.seq, sealed.hash, sealed.record)
