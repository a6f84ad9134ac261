"""The audit log as the policy configures it, for every adapter alike.

The policy's ``audit.redact_query_params`` only ever *adds* names to the
built-in list: a policy edit can make the log redact more, never less.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crawler_compliance.audit import DEFAULT_REDACT_PARAMS, AuditLog
from crawler_compliance.audit._note import NoteError, Signer
from crawler_compliance.audit._tsa import TimestampAuthority
from crawler_compliance.audit._witness import Witness
from crawler_compliance.audit._writer import DEFAULT_CHECKPOINT_EVERY


@dataclass(frozen=True)
class Transparency:
    """How the log's tree is published: origin, signing key, checkpoints, witnesses."""

    origin: str | None = None
    signer: Signer | None = None
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    witnesses: tuple[Witness, ...] = ()
    tsa: TimestampAuthority | None = None


def load_signer(path: str | Path) -> Signer:
    """Read a private key file written by ``audit keygen``; ``ValueError`` says why not.

    The error never quotes the file's content (it is a secret).
    """
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(4096)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a key file"
        raise ValueError(f"cannot read the signing key {path}: {reason}") from None
    try:
        return Signer.parse(text)
    except NoteError as exc:
        raise ValueError(f"{path}: {exc}") from None


if TYPE_CHECKING:
    from crawler_compliance.policy import Policy


def redact_params(policy: Policy) -> frozenset[str]:
    """Built-in secret parameter names plus the policy's own."""
    added = policy.config.audit.redact_query_params
    return DEFAULT_REDACT_PARAMS | {name.lower() for name in added}


def open_audit_log(
    policy: Policy,
    path: str | Path,
    *,
    fsync_every: int | None = None,
    fsync_interval: float | None = None,
    max_bytes: int | None = None,
    redact_key: bytes | None = None,
    transparency: Transparency | None = None,
) -> AuditLog:
    """An :class:`AuditLog` with the policy's settings; explicit values win (0 included).

    ``max_bytes=0`` switches rotation off.
    """
    audit = policy.config.audit
    tlog = transparency or Transparency()
    rotate_at = audit.max_bytes if max_bytes is None else max_bytes
    return AuditLog(
        path,
        fsync_every=audit.fsync_every if fsync_every is None else fsync_every,
        fsync_interval=audit.fsync_interval if fsync_interval is None else fsync_interval,
        max_bytes=rotate_at or None,
        redact_params=redact_params(policy),
        redact_key=redact_key,
        origin=tlog.origin,
        signer=tlog.signer,
        checkpoint_every=tlog.checkpoint_every,
        witnesses=tlog.witnesses,
        tsa=tlog.tsa,
    )
