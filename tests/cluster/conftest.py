"""Session fixtures: a real redis-server and a real PostgreSQL on loopback.

Missing servers skip these tests with a message, except under CI (the ``CI``
environment variable set), where they fail: CI must run them, and
``tools/ensure-servers.sh`` installs what they need.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cluster.servers import (
    SETUP_HINT,
    PostgresServer,
    RedisServer,
    postgres_bindir,
    redis_binary,
)


def _missing(what: str) -> None:
    message = f"{what} is not installed: {SETUP_HINT}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: the cluster tests must run, not skip)")
    pytest.skip(message)


def _need_python_packages() -> None:
    for module in ("redis", "psycopg", "scrapy_redis"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"the Python package {module!r} (pip install -e '.[cluster]')")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    _need_python_packages()
    if redis_binary() is None:
        _missing("redis-server")
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    _need_python_packages()
    if postgres_bindir() is None:
        _missing("PostgreSQL (initdb, pg_ctl)")
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The server's URL, emptied before each test (FLUSHALL)."""
    import redis

    if redis_server.proc is None:  # a fault test stopped it
        redis_server.start()
    redis_server.thaw()  # or froze it and failed before thawing
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def audit_db(postgres_server: Any) -> Iterator[AuditDatabase]:
    """A fresh database with the audit schema, a writer and a reader login."""
    import secrets

    import psycopg

    from crawler_compliance.cluster import init_schema

    postgres_server.ensure_running()  # a fault test may have failed while it was stopped
    name = "cc_" + secrets.token_hex(6)
    with psycopg.connect(postgres_server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db = AuditDatabase(postgres_server, name)
    init_schema(
        db.admin_dsn,
        writer_login="crawler",
        writer_password=db.writer_password,
        reader_login="auditor",
        reader_password=db.reader_password,
    )
    yield db
    with psycopg.connect(postgres_server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class AuditDatabase:
    # Roles are cluster-wide: one password each for the whole session.
    writer_password = "writer-" + os.urandom(8).hex()
    reader_password = "reader-" + os.urandom(8).hex()

    def __init__(self, server: Any, name: str) -> None:
        self.server = server
        self.name = name

    @property
    def admin_dsn(self) -> str:
        return self.server.dsn("postgres", self.server.password, self.name)

    @property
    def writer_dsn(self) -> str:
        return self.server.dsn("crawler", self.writer_password, self.name)

    @property
    def reader_dsn(self) -> str:
        return self.server.dsn("auditor", self.reader_password, self.name)
