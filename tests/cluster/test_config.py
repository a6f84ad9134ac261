"""Cluster settings: read once, contradictions refused, secrets never shown."""

from __future__ import annotations

import pytest

from crawler_compliance.cluster import ClusterConfig, ClusterConfigError
from crawler_compliance.cluster._config import safe_dsn, safe_redis_url


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://bot:hunter22@db:5433/crawl", "postgresql://db:5433/crawl (user bot)"),
        ("host=db dbname=c user=bot password=hunter22", "postgresql://db:5432/c (user bot)"),
        ("postgresql://db/crawl?password=hunter22", "postgresql://db:5432/crawl"),
        ("not a dsn = = '", "<unparsable PostgreSQL DSN>"),
    ],
)  # fmt: skip
def test_a_dsn_is_shown_without_its_password(dsn: str, shown: str) -> None:
    pytest.importorskip("psycopg")
    assert safe_dsn(dsn) == shown
    assert "hunter22" not in safe_dsn(dsn)


def test_a_redis_url_is_shown_without_its_credentials() -> None:
    assert safe_redis_url("redis://user:hunter22@cache:6380/2") == "redis://cache:6380/2"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"COMPLIANCE_REDIS_URL": "http://cache:6379"}, "is not a redis://"),
        ({"COMPLIANCE_REDIS_URL": "redis://u:hunter22@x", "COMPLIANCE_REDIS_KEY": "k"}, "least 16"),
        ({"COMPLIANCE_CLUSTER_WAIT": "soon"}, "COMPLIANCE_CLUSTER_WAIT = 'soon' is not a number"),
        ({"COMPLIANCE_CLUSTER_WAIT": -1}, "COMPLIANCE_CLUSTER_WAIT must be at least 0"),
        ({"COMPLIANCE_POLICY_CHECK_INTERVAL": 0}, "CHECK_INTERVAL must be at least"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_with_the_setting_named(
    settings: dict[str, object], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("COMPLIANCE_REDIS_URL", "COMPLIANCE_AUDIT_DSN", "COMPLIANCE_REDIS_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ClusterConfigError, match=message) as failure:
        ClusterConfig.from_settings(settings)
    assert "hunter22" not in str(failure.value)


def test_credentials_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLIANCE_AUDIT_DSN", "postgresql://crawler@db/crawl")
    monkeypatch.delenv("COMPLIANCE_REDIS_URL", raising=False)
    config = ClusterConfig.from_settings({})
    assert config.enabled and config.audit_dsn == "postgresql://crawler@db/crawl"
    assert config.redis_url is None and config.wait == 10.0
