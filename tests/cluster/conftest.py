"""Session fixtures: a real redis-server and a real PostgreSQL on loopback.

Missing servers skip these tests with a message, except under CI (the ``CI``
environment variable set), where they fail: CI must run them, and
``tools/ensure-servers.sh`` installs what they need.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

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
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url
