"""Cluster settings, read once; connection strings shown without their secrets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_WAIT = 10.0
DEFAULT_POLICY_CHECK = 2.0
DEFAULT_DELAY_MARGIN = 0.1
DEFAULT_PREFIX = "crawler-compliance"


class ClusterConfigError(ValueError):
    """A cluster setting is wrong: the crawl must not start."""


def safe_dsn(dsn: str) -> str:
    """``host:port/dbname (user)`` of a PostgreSQL DSN: never its password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - unparsable: show nothing of it
        return "<unparsable PostgreSQL DSN>"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    where = f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"
    user = parts.get("user")
    return f"{where} (user {user})" if user else where


def safe_redis_url(url: str) -> str:
    """A Redis URL without its username and password."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{netloc}{parts.path}"
    except ValueError:
        return "<unparsable Redis URL>"


def _setting_or_env(settings: Any, name: str) -> str | None:
    """A setting, else the environment variable of the same name ('' counts as unset)."""
    value = settings.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class ClusterConfig:
    """``COMPLIANCE_REDIS_URL`` / ``COMPLIANCE_AUDIT_DSN`` and the settings around them."""

    redis_url: str | None
    audit_dsn: str | None
    wait: float
    policy_check_interval: float
    delay_margin: float
    key: bytes | None
    prefix: str
    worker: str | None

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url or self.audit_dsn)

    @classmethod
    def from_settings(cls, settings: Any) -> ClusterConfig:
        def number(name: str, default: float, minimum: float) -> float:
            raw = settings.get(name)
            if raw in (None, ""):
                return default
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ClusterConfigError(f"{name} = {raw!r} is not a number of seconds") from None
            if not value >= minimum:
                raise ClusterConfigError(f"{name} must be at least {minimum}, got {raw!r}")
            return value

        redis_url = _setting_or_env(settings, "COMPLIANCE_REDIS_URL")
        if redis_url is not None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ClusterConfigError(
                f"COMPLIANCE_REDIS_URL {safe_redis_url(redis_url)!r} is not a redis://, "
                "rediss:// or unix:// URL"
            )
        key = _setting_or_env(settings, "COMPLIANCE_REDIS_KEY")
        if key is not None and len(key) < 16:
            raise ClusterConfigError("COMPLIANCE_REDIS_KEY must be at least 16 characters")
        policy_check = number("COMPLIANCE_POLICY_CHECK_INTERVAL", DEFAULT_POLICY_CHECK, 0.1)
        wait = number("COMPLIANCE_CLUSTER_WAIT", DEFAULT_WAIT, 0.0)
        return cls(
            redis_url=redis_url,
            audit_dsn=_setting_or_env(settings, "COMPLIANCE_AUDIT_DSN"),
            wait=wait,
            policy_check_interval=policy_check,
            delay_margin=number("COMPLIANCE_CLUSTER_DELAY_MARGIN", DEFAULT_DELAY_MARGIN, 0.0),
            key=key.encode() if key else None,
            prefix=str(settings.get("COMPLIANCE_REDIS_PREFIX") or DEFAULT_PREFIX),
            worker=settings.get("COMPLIANCE_WORKER_NAME") or None,
        )
