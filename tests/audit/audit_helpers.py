"""Shared helpers for the audit-log tests."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path

from crawler_compliance._decision import Check, Decision, Reason, decide
from crawler_compliance.audit import GENESIS_HASH, AuditLog
from crawler_compliance.audit._records import canonical_json


def make_decision(
    url: str = "https://www.example.com/page?q=1",
    *,
    deny: bool = False,
    host: str = "www.example.com",
    check: Check = Check.ROBOTS,
    rule: str | None = None,
) -> Decision:
    if deny:
        reasons = [
            Reason(
                check,
                "deny",
                f"denied by {check.value}",
                rule=rule or "Disallow: /",
                source="https://www.example.com/robots.txt",
                line=2,
            )
        ]
    else:
        reasons = [
            Reason(
                Check.ROBOTS,
                "allow",
                "allowed by robots.txt",
                rule="Allow: /",
                source="https://www.example.com/robots.txt",
                line=3,
            )
        ]
    return decide(
        url,
        reasons,
        host=host,
        registrable_domain="example.com",
        robots_fingerprint="f" * 64,
        robots_status="200",
    )


def ticking_clock(start: float = 1_700_000_000.0, step: float = 1.0) -> Callable[[], float]:
    """A clock that advances ``step`` seconds per call: distinct, rising timestamps."""
    counter = itertools.count()
    return lambda: start + step * next(counter)


def write_log(path: Path, count: int, **kwargs: object) -> AuditLog:
    """Write ``count`` alternating allow/deny records; return the closed log."""
    kwargs.setdefault("clock", ticking_clock())
    with AuditLog(path, **kwargs) as log:  # type: ignore[arg-type]
        for i in range(count):
            log.append(
                make_decision(f"https://www.example.com/p{i}", deny=bool(i % 2)),
                spider="demo",
                purpose="search",
                policy_fingerprint="a" * 64,
            )
    return log


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in read_lines(path)]


def canonical_line(record: dict) -> bytes:
    """The exact line the writer would write for ``record`` (its ``hash`` recomputed)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    data = canonical_json(body).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(data).hexdigest()
    return data[:-1] + b',"hash":"' + digest.encode() + b'"}\n'


def rechain(recs: list[dict]) -> list[bytes]:
    """What a careful forger does: renumber, relink and rehash every record."""
    prev, out = GENESIS_HASH, []
    for seq, rec in enumerate(recs, 1):
        body = {k: v for k, v in rec.items() if k != "hash"}
        body.update(seq=seq, prev=prev)
        line = canonical_line(body)
        prev = json.loads(line)["hash"]
        out.append(line)
    return out
