"""Read records back for display and reports (no verification: see ``_verify``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crawler_compliance.audit._records import MAX_LINE_BYTES, log_files, parse_line, read_lines


def iter_records(
    path: str | os.PathLike[str],
    on_skip: Callable[[str, str], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every readable record of the log and its rotated files, oldest first.

    Lines that are not records (a torn tail, damage) are skipped and reported
    to ``on_skip(location, reason)``. Raises ``FileNotFoundError`` when there
    is no log at ``path``.
    """
    files = log_files(path)
    if not files:
        raise FileNotFoundError(2, "no audit log (nor rotated files) at this path", str(path))
    return _records(files, on_skip)


def _records(
    files: list[Path],
    on_skip: Callable[[str, str], None] | None,
) -> Iterator[dict[str, Any]]:
    for file in files:
        with open(file, "rb") as handle:
            for lineno, raw, complete, _ in read_lines(handle):
                record = parse_line(raw) if raw is not None else None
                if record is None:
                    if on_skip is not None:
                        if raw is None:
                            reason = f"line longer than {MAX_LINE_BYTES} bytes"
                        elif not complete:
                            reason = "incomplete last line"
                        else:
                            reason = "not a record"
                        on_skip(f"{file}:{lineno}", reason)
                    continue
                yield record


def deciding_reason(record: dict[str, Any]) -> dict[str, Any] | None:
    """The first denying reason of a record, else its first reason."""
    reasons = record_reasons(record)
    for reason in reasons:
        if reason.get("outcome") == "deny":
            return reason
    return reasons[0] if reasons else None


def record_reasons(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's reasons that are objects (nothing when ``reasons`` is not a list)."""
    reasons = record.get("reasons")
    if not isinstance(reasons, list):
        return []
    return [r for r in reasons if isinstance(r, dict)]


def host_matches(record: dict[str, Any], wanted: str) -> bool:
    """``wanted`` is the record's host, one of its parent domains, or its registrable domain."""
    wanted = wanted.strip().lower().rstrip(".")
    host = record.get("host")
    host = host.lower() if isinstance(host, str) else ""
    domain = record.get("registrable_domain")
    return (
        host == wanted
        or host.endswith("." + wanted)
        or (isinstance(domain, str) and domain.lower() == wanted)
    )
