"""All ``COMPLIANCE_*`` settings, read once at start-up into one object.

Contradictions are rejected here, with a sentence that names the settings
involved, so a crawl never starts half-configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy.exceptions import NotConfigured

DEFAULT_AUDIT_LOG = "compliance-audit.jsonl"
DEFAULT_ROBOTS_CACHE_SIZE = 10_000
PURPOSES = ("search-indexing", "ai-training", "research", "archiving", "monitoring", "other")


class ComplianceConfigError(ValueError):
    """A setting is missing or contradicts another: the crawl must not start."""


@dataclass(frozen=True)
class Config:
    enabled: bool
    audit_log: str
    audit_fsync_every: int | None
    audit_fsync_interval: float | None
    audit_max_bytes: int | None
    audit_redact_key: bytes | None
    obey_crawl_delay: bool | None
    policy_dir: str
    purpose: str | None
    robots_cache_size: int
    suffix_list: str | None
    user_agent: str | None
    default_user_agent: str

    @classmethod
    def from_settings(cls, settings: Any) -> Config:
        enabled = settings.getbool("COMPLIANCE_ENABLED", True)
        if not enabled:
            raise NotConfigured("COMPLIANCE_ENABLED is False")
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

        return cls(
            enabled=enabled,
            audit_log=str(settings.get("COMPLIANCE_AUDIT_LOG") or DEFAULT_AUDIT_LOG),
            audit_fsync_every=optional("COMPLIANCE_AUDIT_FSYNC_EVERY", int),
            audit_fsync_interval=optional("COMPLIANCE_AUDIT_FSYNC_INTERVAL", float),
            audit_max_bytes=optional("COMPLIANCE_AUDIT_MAX_BYTES", int),
            audit_redact_key=optional("COMPLIANCE_AUDIT_REDACT_KEY",
                                      lambda v: v if isinstance(v, bytes) else str(v).encode()),
            obey_crawl_delay=optional("COMPLIANCE_OBEY_CRAWL_DELAY",
                                      lambda v: settings.getbool("COMPLIANCE_OBEY_CRAWL_DELAY")),
            policy_dir=str(policy_dir),
            purpose=purpose,
            robots_cache_size=cache_size,
            suffix_list=optional("COMPLIANCE_SUFFIX_LIST", str),
            user_agent=settings.get("COMPLIANCE_USER_AGENT") or None,
            default_user_agent=str(settings.get("USER_AGENT") or ""),
        )
