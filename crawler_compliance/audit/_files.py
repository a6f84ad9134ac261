"""Opening audit files without following symbolic links.

The audit log lives in a directory other people may be able to write to (a
shared volume, a checkout). A symbolic link planted at the log's name, at a
rotated file's name or at the rotation marker would otherwise make the writer
append records to, ``chmod`` or truncate whatever file the link points at. So
every file the writer touches is opened with ``O_NOFOLLOW`` (checked with
``lstat`` first where the flag does not exist), and a link found there is
refused with an :class:`AuditLogError` that says so: never followed, never
replaced silently.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import BinaryIO

from crawler_compliance.audit._records import AuditLogError

__all__ = ["open_nofollow", "open_read_nofollow", "refuse_link"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _link_error(path: str | os.PathLike[str]) -> AuditLogError:
    return AuditLogError(
        f"{path}: is a symbolic link; the audit log never follows links (one planted "
        "here would make records, permissions or truncation land on another file). "
        "Remove it, or point the crawl at the real file"
    )


def refuse_link(path: str | os.PathLike[str]) -> None:
    """Raise :class:`AuditLogError` when *path* is a symbolic link."""
    if os.path.islink(path):
        raise _link_error(path)


def open_nofollow(path: str | os.PathLike[str], flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symbolic link at *path* (the last component)."""
    if not _NOFOLLOW:  # pragma: no cover - platforms without O_NOFOLLOW
        refuse_link(path)
    try:
        return os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        # Linux says ELOOP; some BSDs say EMLINK or EFTYPE for a link under O_NOFOLLOW.
        if exc.errno in (errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", -1)) or (
            os.path.islink(path)
        ):
            raise _link_error(path) from None
        raise


def open_read_nofollow(path: str | os.PathLike[str] | Path) -> BinaryIO:
    """A binary reader for *path*, refusing a symbolic link."""
    return os.fdopen(open_nofollow(path, os.O_RDONLY), "rb")
