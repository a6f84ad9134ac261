"""The PostgreSQL audit schema, created once by an administrator (``audit init``).

Three tables in schema ``crawler_compliance``, all append-only:

- ``chains``: one row per worker process (one hash chain each);
- ``records``: one row per audit record, ``line`` holding its exact bytes
  (the JSON Lines line, newline included) and ``hash`` its SHA-256;
- ``closes``: one row when a worker closed its chain cleanly (last seq and
  hash). A chain without one was not closed (its worker was killed);
- ``checkpoints``: the chain's RFC 9162 tree heads as C2SP checkpoint notes
  (signed with ``COMPLIANCE_AUDIT_SIGNING_KEY`` when set), exactly what the
  file log's ``.checkpoints`` sidecar holds.

The database enforces the append-only rule twice: the crawlers' role
``crawler_compliance_writer`` holds only ``INSERT`` (and ``USAGE`` on the
schema), and a trigger on every table rejects ``UPDATE``, ``DELETE`` and
``TRUNCATE`` whoever runs them, the owner included (an owner can drop the
trigger, and that is a schema change an administrator answers for). The
role ``crawler_compliance_reader`` may ``SELECT`` (``audit verify`` /
``export`` / ``report``).
"""

from __future__ import annotations

from typing import Any

SCHEMA = "crawler_compliance"
WRITER_ROLE = "crawler_compliance_writer"
READER_ROLE = "crawler_compliance_reader"
TABLES = ("chains", "records", "closes", "checkpoints")

_TABLES_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.chains (
    chain_id text PRIMARY KEY CHECK (chain_id ~ '^[0-9a-f]{{32}}$'),
    worker text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.records (
    chain_id text NOT NULL REFERENCES {SCHEMA}.chains (chain_id),
    seq bigint NOT NULL CHECK (seq >= 1),
    hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{{64}}$'),
    line bytea NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (chain_id, seq)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.closes (
    chain_id text PRIMARY KEY REFERENCES {SCHEMA}.chains (chain_id),
    last_seq bigint NOT NULL CHECK (last_seq >= 0),
    last_hash text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{{64}}$'),
    closed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.checkpoints (
    chain_id text NOT NULL REFERENCES {SCHEMA}.chains (chain_id),
    size bigint NOT NULL CHECK (size >= 1),
    note text NOT NULL,
    compact_range text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (chain_id, size)
);
CREATE OR REPLACE FUNCTION {SCHEMA}.append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'crawler-compliance audit tables are append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _role_exists(conn: Any, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    return row is not None


def _trigger_exists(conn: Any, table: str, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
        (name, f"{SCHEMA}.{table}"),
    ).fetchone()
    return row is not None


def init_schema(
    admin_dsn: str,
    *,
    writer_login: str | None = None,
    writer_password: str | None = None,
    reader_login: str | None = None,
    reader_password: str | None = None,
) -> list[str]:
    """Create (or complete) the schema, triggers and roles; return what was done.

    Idempotent: running it again changes nothing that exists. With
    ``writer_login`` (and its password), also creates that LOGIN role as a
    member of the INSERT-only role; likewise ``reader_login``.
    """
    import psycopg
    from psycopg import sql

    done: list[str] = []
    with psycopg.connect(admin_dsn, connect_timeout=10) as conn:
        conn.execute(_TABLES_SQL)  # our constant, not user input
        for table in TABLES:
            qualified = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))
            for trigger, when, level in (
                ("append_only_rows", "BEFORE UPDATE OR DELETE", "ROW"),
                ("append_only_truncate", "BEFORE TRUNCATE", "STATEMENT"),
            ):
                if _trigger_exists(conn, table, trigger):
                    continue
                conn.execute(
                    sql.SQL(
                        "CREATE TRIGGER {} " + when + " ON {} FOR EACH " + level
                        + " EXECUTE FUNCTION {}.append_only()"
                    ).format(sql.Identifier(trigger), qualified, sql.Identifier(SCHEMA))
                )  # fmt: skip
                done.append(f"trigger {trigger} on {SCHEMA}.{table}")
            conn.execute(
                sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(qualified)  # nobody by default
            )
        for role, privilege in ((WRITER_ROLE, "INSERT"), (READER_ROLE, "SELECT")):
            if not _role_exists(conn, role):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                done.append(f"role {role}")
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(role)
                )
            )
            for table in TABLES:
                conn.execute(
                    sql.SQL("GRANT " + privilege + " ON {}.{} TO {}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(table), sql.Identifier(role)
                    )
                )
        for login, password, group in (
            (writer_login, writer_password, WRITER_ROLE),
            (reader_login, reader_password, READER_ROLE),
        ):
            if not login:
                continue
            if not _role_exists(conn, login):
                if not password:
                    raise ValueError(f"a password is needed to create the login role {login!r}")
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(login), sql.Literal(password)
                    )
                )
                done.append(f"login role {login}")
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(login))
            )
    return done
