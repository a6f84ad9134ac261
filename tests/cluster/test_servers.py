from __future__ import annotations

from tests.cluster.servers import PostgresServer, RedisServer


def test_redis_answers_on_loopback(redis_server: RedisServer, redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.config_get("save")["save"] == ""
    client.close()


def test_postgres_answers_with_password(postgres_server: PostgresServer) -> None:
    import psycopg

    with psycopg.connect(postgres_server.admin_dsn) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    bad = postgres_server.dsn("postgres", "wrong")
    try:
        psycopg.connect(bad).close()
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("a wrong password was accepted")
