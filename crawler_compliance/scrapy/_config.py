"""All ``COMPLIANCE_*`` settings, read once at start-up into one object.

Contradictions are rejected here, with a sentence that names the settings
involved, so a crawl never starts half-configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from crawler_compliance._policy_audit import Transparency, load_signer
from crawler_compliance.audit._witness import Witness
from crawler_compliance.policy._models import Purpose

DEFAULT_AUDIT_LOG = "compliance-audit.jsonl"
DEFAULT_ROBOTS_CACHE_SIZE = 10_000
PURPOSES: tuple[str, ...] = get_args(Purpose)


def project_policy_dir(value: str) -> Path:
    """``COMPLIANCE_POLICY_DIR`` as an absolute path. A relative value is relative to
    the project (the directory of the closest ``scrapy.cfg`` at or above the current
    directory, as ``scrapy crawl`` finds it), else to the current directory; so a
    crawl started from a sub-directory reads the same policy as one started at the top,
    and a missing directory is reported with the absolute path that was tried."""
    from crawler_compliance.scrapy._spiders import find_project_root, resolve_policy_dir

    return resolve_policy_dir(value, find_project_root())


class ComplianceConfigError(ValueError):
    """A setting is missing or contradicts another: the crawl must not start."""


@dataclass(frozen=True)
class Config:
    audit_log: str
    audit_fsync_every: int | None
    audit_fsync_interval: float | None
    audit_max_bytes: int | None
    audit_redact_key: bytes | None
    audit_transparency: Transparency
    obey_crawl_delay: bool | None
    policy_dir: str
    purpose: str | None
    robots_cache_size: int
    suffix_list: str | None
    user_agent: str | None
    default_user_agent: str

    @classmethod
    def from_settings(cls, settings: Any) -> Config:
        policy_dir = settings.get("COMPLIANCE_POLICY_DIR")
        if not policy_dir:
            raise ComplianceConfigError(
                "COMPLIANCE_POLICY_DIR is not set: crawler-compliance needs the policy "
                "directory (policies/) and will not crawl unchecked"
            )
        purpose = settings.get("COMPLIANCE_PURPOSE") or None
        if purpose is not None and purpose not in PURPOSES:
            raise ComplianceConfigError(
                f"COMPLIANCE_PURPOSE = {purpose!r} is not one of: {', '.join(PURPOSES)}"
            )
        cache_size = settings.getint("COMPLIANCE_ROBOTS_CACHE_SIZE", DEFAULT_ROBOTS_CACHE_SIZE)
        if cache_size < 1:
            raise ComplianceConfigError("COMPLIANCE_ROBOTS_CACHE_SIZE must be at least 1")

        def optional(name: str, convert: Any) -> Any:
            value = settings.get(name)
            return None if value is None or value == "" else convert(value)

        fsync_every = optional("COMPLIANCE_AUDIT_FSYNC_EVERY", int)
        if fsync_every is not None and fsync_every < 1:
            raise ComplianceConfigError("COMPLIANCE_AUDIT_FSYNC_EVERY must be at least 1")
        fsync_interval = optional("COMPLIANCE_AUDIT_FSYNC_INTERVAL", float)
        if fsync_interval is not None and not fsync_interval >= 0:
            raise ComplianceConfigError(
                "COMPLIANCE_AUDIT_FSYNC_INTERVAL must be 0 or more (0: fsync every record)"
            )
        max_bytes = optional("COMPLIANCE_AUDIT_MAX_BYTES", int)
        if max_bytes is not None and max_bytes < 0:
            raise ComplianceConfigError(
                "COMPLIANCE_AUDIT_MAX_BYTES must be 0 (no rotation) or a size in bytes"
            )
        transparency = _transparency(settings, optional)
        return cls(
            audit_transparency=transparency,
            audit_log=str(settings.get("COMPLIANCE_AUDIT_LOG") or DEFAULT_AUDIT_LOG),
            audit_fsync_every=fsync_every,
            audit_fsync_interval=fsync_interval,
            audit_max_bytes=max_bytes,
            audit_redact_key=optional(
                "COMPLIANCE_AUDIT_REDACT_KEY",
                lambda v: v if isinstance(v, bytes) else str(v).encode(),
            ),
            obey_crawl_delay=optional(
                "COMPLIANCE_OBEY_CRAWL_DELAY",
                lambda v: settings.getbool("COMPLIANCE_OBEY_CRAWL_DELAY"),
            ),
            policy_dir=str(project_policy_dir(str(policy_dir))),
            purpose=purpose,
            robots_cache_size=cache_size,
            suffix_list=optional("COMPLIANCE_SUFFIX_LIST", str),
            user_agent=settings.get("COMPLIANCE_USER_AGENT") or None,
            default_user_agent=str(settings.get("USER_AGENT") or ""),
        )


def _transparency(settings: Any, optional: Any) -> Transparency:
    """``COMPLIANCE_AUDIT_CHECKPOINT_EVERY``, ``_ORIGIN``, ``_SIGNING_KEY``, ``_TSA_URL``,
    ``_WITNESSES``."""
    every = optional("COMPLIANCE_AUDIT_CHECKPOINT_EVERY", int)
    if every is not None and every < 1:
        raise ComplianceConfigError("COMPLIANCE_AUDIT_CHECKPOINT_EVERY must be at least 1")
    origin = optional("COMPLIANCE_AUDIT_ORIGIN", str)
    if origin is not None and (not origin.isprintable() or not origin.strip()):
        raise ComplianceConfigError(
            "COMPLIANCE_AUDIT_ORIGIN must be one line of printable text, e.g. example.com/crawl"
        )
    signer = None
    key_file = optional("COMPLIANCE_AUDIT_SIGNING_KEY", str)
    if key_file is not None:
        try:
            signer = load_signer(key_file)
        except ValueError as exc:
            raise ComplianceConfigError(f"COMPLIANCE_AUDIT_SIGNING_KEY: {exc}") from None
    raw = (
        settings.getlist("COMPLIANCE_AUDIT_WITNESSES")
        if settings.get("COMPLIANCE_AUDIT_WITNESSES")
        else []
    )
    witnesses = []
    for entry in raw:
        try:
            witnesses.append(Witness.parse(str(entry)))
        except ValueError as exc:
            raise ComplianceConfigError(f"COMPLIANCE_AUDIT_WITNESSES: {exc}") from None
    if witnesses and signer is None:
        raise ComplianceConfigError(
            "COMPLIANCE_AUDIT_WITNESSES is set but COMPLIANCE_AUDIT_SIGNING_KEY is not: "
            "witnesses cosign only signed checkpoints"
        )
    tsa = None
    tsa_url = optional("COMPLIANCE_AUDIT_TSA_URL", str)
    if tsa_url is not None:
        from crawler_compliance.audit._tsa import TimestampAuthority, available

        if not available():
            raise ComplianceConfigError(
                "COMPLIANCE_AUDIT_TSA_URL needs the rfc3161-client library: "
                "pip install 'crawler-compliance[tsa]'"
            )
        try:
            tsa = TimestampAuthority(tsa_url)
        except ValueError as exc:
            raise ComplianceConfigError(f"COMPLIANCE_AUDIT_TSA_URL: {exc}") from None
    return Transparency(
        tsa=tsa,
        origin=origin,
        signer=signer,
        checkpoint_every=every if every is not None else Transparency.checkpoint_every,
        witnesses=tuple(witnesses),
    )
