"""The tamper-evident audit log: one hash-chained JSON Lines record per decision,
each a leaf of an RFC 9162 Merkle tree with signed C2SP checkpoints.

Plain Python: no Scrapy, no Twisted. See ``README.md`` for the record
format, durability, rotation, redaction, the transparency log and the
``audit`` CLI.
"""

from __future__ import annotations

from crawler_compliance.audit._note import NoteError, Signer, TreeHead, Verifier
from crawler_compliance.audit._read import iter_records
from crawler_compliance.audit._records import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    AuditLogError,
    AuditRecord,
    Checkpoint,
    log_files,
)
from crawler_compliance.audit._redact import (
    DEFAULT_REDACT_PARAMS,
    Redactor,
    redact_url,
    safe_for_log,
)
from crawler_compliance.audit._tlog import (
    OldCheckpoint,
    ProofBundleError,
    ProvenRecord,
    consistency,
    prove,
    verify_bundle,
    verify_tlog,
)
from crawler_compliance.audit._verify import (
    SignatureStatus,
    VerifyReport,
    VerifyStatus,
    verify_log,
)
from crawler_compliance.audit._witness import Witness
from crawler_compliance.audit._writer import AuditLog

__all__ = [
    "DEFAULT_REDACT_PARAMS",
    "GENESIS_HASH",
    "SCHEMA_VERSION",
    "Redactor",
    "AuditLog",
    "AuditLogError",
    "AuditRecord",
    "Checkpoint",
    "NoteError",
    "OldCheckpoint",
    "ProofBundleError",
    "ProvenRecord",
    "SignatureStatus",
    "Signer",
    "TreeHead",
    "Verifier",
    "VerifyReport",
    "VerifyStatus",
    "Witness",
    "consistency",
    "iter_records",
    "log_files",
    "prove",
    "redact_url",
    "safe_for_log",
    "verify_bundle",
    "verify_log",
    "verify_tlog",
]
