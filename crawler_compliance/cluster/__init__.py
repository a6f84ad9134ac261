"""Many workers, one set of guarantees: shared state in Redis, the audit in PostgreSQL.

An adapter package: the decision core never imports it, and it imports
``redis`` / ``psycopg`` only when a feature that needs them is switched on
(``pip install 'crawler-compliance[cluster]'``). See README "Running on a
cluster".
"""

from __future__ import annotations

from crawler_compliance.cluster._config import ClusterConfig, ClusterConfigError
from crawler_compliance.cluster._pg_audit import PgAuditLog
from crawler_compliance.cluster._pg_export import export_chains, verify_chains
from crawler_compliance.cluster._pg_schema import READER_ROLE, WRITER_ROLE, init_schema
from crawler_compliance.cluster._records import ChainBuilder, SealedRecord

__all__ = [
    "READER_ROLE",
    "WRITER_ROLE",
    "ChainBuilder",
    "ClusterConfig",
    "ClusterConfigError",
    "PgAuditLog",
    "SealedRecord",
    "export_chains",
    "init_schema",
    "verify_chains",
]
