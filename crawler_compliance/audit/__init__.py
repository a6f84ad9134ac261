"""The tamper-evident audit log: one hash-chained JSON Lines record per decision.

Plain Python: no Scrapy, no Twisted. See ``README.md`` for the record
format, durability, rotation, redaction and the ``audit`` CLI.
"""

from __future__ import annotations

from crawler_compliance.audit._read import iter_records
from crawler_compliance.audit._records import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    AuditLogError,
    AuditRecord,
    Checkpoint,
    log_files,
)
from crawler_compliance.audit._redact import DEFAULT_REDACT_PARAMS, Redactor, redact_url
from crawler_compliance.audit._verify import VerifyReport, verify_log
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
    "VerifyReport",
    "iter_records",
    "log_files",
    "redact_url",
    "verify_log",
]
