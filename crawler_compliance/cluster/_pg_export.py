"""Read the PostgreSQL audit back: export each chain as a JSON Lines log, verify it.

``export`` writes one file per chain, ``<worker>-<chain>.jsonl``, holding the
rows' line bytes in seq order: exactly the file a single process would have
written, so ``crawler-compliance audit verify FILE`` (the file verifier)
checks it. ``verify`` exports into a private temporary directory and runs the
same verifier on every chain, then compares each chain with its ``closes``
row: a chain without one "was not closed" (its worker was killed or lost the
database at the end), which is reported, not counted as damage.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler_compliance.audit import VerifyReport
from crawler_compliance.audit._checkpoints import EntryType, sidecar_path
from crawler_compliance.audit._tlog import verify_tlog
from crawler_compliance.cluster._pg_schema import SCHEMA

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ChainInfo:
    chain_id: str
    worker: str
    closed_seq: int | None
    closed_hash: str | None

    @property
    def file_name(self) -> str:
        worker = _UNSAFE.sub("_", self.worker)[:80] or "worker"
        return f"{worker}-{self.chain_id}.jsonl"


@dataclass(frozen=True)
class ChainVerdict:
    chain: ChainInfo
    report: VerifyReport
    rows_consistent: bool  # the seq/hash columns agree with the lines
    problem: str | None

    @property
    def closed(self) -> bool:
        return self.chain.closed_seq is not None

    @property
    def ok(self) -> bool:
        return self.report.ok and self.rows_consistent and self.problem is None


def _chains(conn: object) -> list[ChainInfo]:
    rows = conn.execute(  # type: ignore[attr-defined]
        f"SELECT c.chain_id, c.worker, x.last_seq, x.last_hash FROM {SCHEMA}.chains c "
        f"LEFT JOIN {SCHEMA}.closes x USING (chain_id) ORDER BY c.started_at, c.chain_id"
    ).fetchall()
    return [ChainInfo(*row) for row in rows]


def _lines(conn: object, chain_id: str) -> Iterator[tuple[int, str, bytes]]:
    with conn.cursor(name="cc_export") as cur:  # type: ignore[attr-defined]  # server-side
        cur.itersize = 2000
        cur.execute(
            f"SELECT seq, hash, line FROM {SCHEMA}.records WHERE chain_id = %s ORDER BY seq",
            (chain_id,),
        )
        for seq, digest, line in cur:
            yield int(seq), str(digest), bytes(line)


def _write_sidecar(conn: object, chain_id: str, log: Path) -> None:
    """The chain's checkpoints as the file log's ``<log>.checkpoints`` sidecar."""
    rows = conn.execute(  # type: ignore[attr-defined]
        f"SELECT note, compact_range, created_at FROM {SCHEMA}.checkpoints "
        "WHERE chain_id = %s ORDER BY size",
        (chain_id,),
    ).fetchall()
    path = sidecar_path(log)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        for note, compact_range, created in rows:
            entry = {
                "type": EntryType.CHECKPOINT,
                "note": note,
                "range": list(compact_range),
                "ts": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            f.write(json.dumps(entry, sort_keys=True, ensure_ascii=True, separators=(",", ":")))
            f.write("\n")


def export_chains(
    dsn: str, directory: str | os.PathLike[str]
) -> list[tuple[ChainInfo, Path, bool]]:
    """Write every chain to ``directory``; return ``(chain, file, rows_consistent)``."""
    import psycopg

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        for chain in _chains(conn):
            path = out / chain.file_name
            consistent = True
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                for seq, digest, line in _lines(conn, chain.chain_id):
                    # The columns are a copy for queries; the line is the record.
                    if f'"seq":{seq},'.encode() not in line or digest.encode() not in line:
                        consistent = False
                    f.write(line)
            _write_sidecar(conn, chain.chain_id, path)
            written.append((chain, path, consistent))
    return written


def verify_chains(dsn: str, *, key: Any = None) -> list[ChainVerdict]:
    """Verify every chain in the database with the file verifier (chain, tree,
    checkpoints; their signatures too with ``key``, a checkpoint ``Verifier``)."""
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="cc-audit-verify-") as tmp:
        for chain, path, consistent in export_chains(dsn, tmp):
            if path.stat().st_size == 0:
                report = VerifyReport(True, 0, 0, None, False, 0, "0" * 64, [str(path)])
            else:
                report = verify_tlog(path, key=key)
            problem = None
            if not consistent:
                problem = "a row's seq or hash column disagrees with its record (edited)"
            elif (
                chain.closed_seq is not None
                and report.ok
                and ((chain.closed_seq, chain.closed_hash) != (report.last_seq, report.last_hash))
            ):
                problem = (
                    f"the chain was closed at seq {chain.closed_seq} but holds records up to "
                    f"seq {report.last_seq} (records added or removed after it closed)"
                )
            verdicts.append(ChainVerdict(chain, report, consistent, problem))
    return verdicts
