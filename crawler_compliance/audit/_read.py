"""Read records back for display and reports (no verification: see ``_verify``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crawler_compliance.audit._records import log_files


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
            for lineno, raw in enumerate(handle, 1):
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None
                if not isinstance(record, dict):
                    if on_skip is not None:
                        reason = (
                            "incomplete last line" if not raw.endswith(b"\n") else ("not a record")
                        )
                        on_skip(f"{file}:{lineno}", reason)
                    continue
                yield record


def deciding_reason(record: dict[str, Any]) -> dict[str, Any] | None:
    """The first denying reason of a record, else its first reason."""
    reasons = [r for r in record.get("reasons") or () if isinstance(r, dict)]
    for reason in reasons:
        if reason.get("outcome") == "deny":
            return reason
    return reasons[0] if reasons else None


def host_matches(record: dict[str, Any], wanted: str) -> bool:
    """``wanted`` is the record's host, one of its parent domains, or its registrable domain."""
    wanted = wanted.strip().lower().rstrip(".")
    host = str(record.get("host") or "").lower()
    return (
        host == wanted
        or host.endswith("." + wanted)
        or str(record.get("registrable_domain") or "").lower() == wanted
    )
