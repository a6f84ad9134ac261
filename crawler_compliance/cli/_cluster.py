"""``audit init | export`` and ``--dsn`` for ``audit verify | report``: the PostgreSQL audit.

Hooked into the ``audit`` command family by one line in ``cli/__init__.py``.
Credentials: give them the libpq way (``PGPASSWORD``, ``~/.pgpass``,
``PGPASSFILE``) rather than inside ``--dsn``, so they stay out of shell
history and process lists; they are never printed either way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from crawler_compliance.cli import EXIT_DENIED as EXIT_FAILED
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line as _print
from crawler_compliance.cli._output import safe as _safe
from crawler_compliance.cli._output import write as _out

WRITER_PASSWORD_ENV = "COMPLIANCE_AUDIT_WRITER_PASSWORD"
READER_PASSWORD_ENV = "COMPLIANCE_AUDIT_READER_PASSWORD"


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError("the audit command has no subcommands")


def register(subparsers: Any) -> None:
    register_cluster(subparsers)
    audit = subparsers.choices["audit"]
    commands = _subcommands(audit)

    init = commands.add_parser(
        "init",
        help="create the PostgreSQL audit schema, append-only triggers and roles",
        description="Create (idempotently) the crawler_compliance schema, its append-only "
        "triggers, the INSERT-only role crawler_compliance_writer and the SELECT role "
        "crawler_compliance_reader. Run once, as an administrator. --writer-login/--reader-login "
        f"also create LOGIN roles in them, with passwords from ${WRITER_PASSWORD_ENV} / "
        f"${READER_PASSWORD_ENV}.",
    )
    init.add_argument("--dsn", required=True, metavar="ADMIN_DSN", help="an administrator's DSN")
    init.add_argument("--writer-login", metavar="NAME", help="create this crawler login role")
    init.add_argument("--reader-login", metavar="NAME", help="create this auditor login role")
    init.set_defaults(handler=_init)

    export = commands.add_parser(
        "export",
        help="write every PostgreSQL chain as a JSON Lines log file",
        description="Write each worker's chain as DIR/<worker>-<chain>.jsonl, byte for byte "
        "what the file writer writes ('audit verify FILE' checks each one).",
    )
    export.add_argument("--dsn", required=True, metavar="DSN")
    export.add_argument("directory", metavar="DIR")
    export.set_defaults(handler=_export)

    for name, handler in (("verify", _verify), ("report", _report)):
        parser = commands.choices[name]
        for action in parser._actions:
            if action.dest == "file":  # FILE or --dsn, not both
                action.nargs = "?"
                action.default = None
        parser.add_argument(
            "--dsn",
            metavar="DSN",
            help="read the chains of a PostgreSQL audit (COMPLIANCE_AUDIT_DSN) instead of FILE",
        )
        parser.set_defaults(handler=_either(parser, handler, parser.get_default("handler")))


def _either(parser: argparse.ArgumentParser, with_dsn: Any, with_file: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        if (args.dsn is None) == (args.file is None):
            parser.print_usage(sys.stderr)
            _out(f"{parser.prog}: error: give FILE or --dsn DSN (one of them)\n", sys.stderr)
            return EXIT_USAGE
        return int(with_dsn(args) if args.dsn is not None else with_file(args))

    return handler


def _database_error(dsn: str, exc: BaseException) -> int:
    from crawler_compliance.cluster._config import safe_dsn

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    _out(_safe(f"crawler-compliance audit: {safe_dsn(dsn)}: {first}") + "\n", sys.stderr)
    return EXIT_USAGE


def _init(args: argparse.Namespace) -> int:
    from crawler_compliance.cluster._pg_schema import init_schema

    try:
        done = init_schema(
            args.dsn,
            writer_login=args.writer_login,
            writer_password=os.environ.get(WRITER_PASSWORD_ENV),
            reader_login=args.reader_login,
            reader_password=os.environ.get(READER_PASSWORD_ENV),
        )
    except ValueError as exc:
        _out(f"crawler-compliance audit init: {exc}\n", sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - psycopg errors: one readable line
        return _database_error(args.dsn, exc)
    _print("OK: audit schema ready" + (": created " + ", ".join(done) if done else " (unchanged)"))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from crawler_compliance.cluster._pg_export import export_chains

    try:
        written = export_chains(args.dsn, args.directory)
    except OSError as exc:
        _out(_safe(f"crawler-compliance audit: cannot write {args.directory}: {exc}") + "\n")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001
        return _database_error(args.dsn, exc)
    for chain, path, _ in written:
        state = "closed" if chain.closed_seq is not None else "NOT closed"
        _print(_safe(f"{path} ({state})"))
    _print(f"{len(written)} chain(s) exported")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from crawler_compliance.cluster._pg_export import verify_chains

    try:
        key = None
        if getattr(args, "key", None):  # verify --key (cli._proofs): check the signatures
            from crawler_compliance.audit._tlog import load_verifier

            key = load_verifier(args.key)
        verdicts = verify_chains(args.dsn, key=key)
    except Exception as exc:  # noqa: BLE001
        return _database_error(args.dsn, exc)
    if args.json:
        data = [
            {
                "worker": v.chain.worker,
                "chain": v.chain.chain_id,
                "ok": v.ok,
                "closed": v.closed,
                "records": v.report.records,
                "intact": v.report.intact,
                "problem": v.problem or v.report.problem,
                "checkpoint": str(v.report.checkpoint),
                "tree_checkpoints": v.report.checkpoints,
                "signature": v.report.signature.value,
            }
            for v in verdicts
        ]
        _out(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
    for v in verdicts:
        name = _safe(f"{v.chain.worker} (chain {v.chain.chain_id})")
        if args.json:
            break
        if v.ok:
            closed = (
                "closed"
                if v.closed
                else f"NOT closed: its worker stopped without closing it (killed?); intact "
                f"up to its last committed record, seq {v.report.last_seq}"
            )
            _print(f"OK: {name}: {v.report.intact} record(s), chain intact, {closed}")
            _print(f"  tree: {v.report.checkpoints} checkpoint(s), {v.report.signature.value}")
        else:
            _print(f"TAMPERED: {name}: {_safe(v.problem or v.report.problem or '')}")
            _print(f"  {v.report.intact} of {v.report.records} record(s) intact before it")
    bad = sum(not v.ok for v in verdicts)
    if not args.json:
        _print(f"{len(verdicts)} chain(s), {bad} with problems")
    return EXIT_FAILED if bad else EXIT_OK


def _report(args: argparse.Namespace) -> int:
    """``audit report --dsn``: the file report over every chain of the database together."""
    import itertools
    import tempfile

    from crawler_compliance.audit import iter_records
    from crawler_compliance.cli._report import _notice_facts
    from crawler_compliance.cluster._config import safe_dsn
    from crawler_compliance.cluster._pg_export import export_chains, verify_chains
    from crawler_compliance.report import Chain, Filters, build_report, render_html, render_text

    try:
        verdicts = verify_chains(args.dsn)
        bad = [v for v in verdicts if not v.ok]
        chain = Chain(
            not bad,
            "OK" if not bad else "TAMPERED",
            (bad[0].problem or bad[0].report.problem) if bad else None,
            f"{len(verdicts)} chain(s), {sum(not v.closed for v in verdicts)} not closed",
            len(verdicts),
            sum(v.report.tree_size for v in verdicts),
            "",
            sum(v.report.checkpoints for v in verdicts),
            ", ".join(sorted({v.report.signature.value for v in verdicts})),
        )
        with tempfile.TemporaryDirectory(prefix="cc-audit-report-") as tmp:
            files = [path for _, path, _ in export_chains(args.dsn, tmp)]
            report = build_report(
                safe_dsn(args.dsn),
                itertools.chain.from_iterable(iter_records(path) for path in files),
                filters=Filters(args.since, args.until, args.spider),
                notices=_notice_facts(args.policies),
                chain=chain,
            )
    except Exception as exc:  # noqa: BLE001
        return _database_error(args.dsn, exc)
    if args.json:
        _out(json.dumps(report.to_dict(), indent=2, ensure_ascii=True) + "\n")
    else:
        _out(render_text(report))
    if args.html:
        try:
            fd = os.open(args.html, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as handle:
                handle.write(render_html(report))
        except OSError as exc:
            _out(_safe(f"cannot write {args.html}: {exc.strerror or exc}") + "\n", sys.stderr)
            return EXIT_USAGE
    return EXIT_FAILED if bad else EXIT_OK


def register_cluster(subparsers: Any) -> None:
    cluster = subparsers.add_parser(
        "cluster",
        help="the shared state of a cluster in Redis (policy version)",
        description="Inspect and steer the state crawl workers share in Redis "
        "(COMPLIANCE_REDIS_URL). The HMAC key comes from $COMPLIANCE_REDIS_KEY when the "
        "workers use one.",
    )
    commands = cluster.add_subparsers(dest="cluster_command", metavar="SUBCOMMAND")
    commands.required = True
    publish = commands.add_parser(
        "publish-policy",
        help="make POLICY_DIR's policy the one every worker decides with",
        description="Load POLICY_DIR and publish its fingerprint as the cluster's active "
        "policy. Workers reload their COMPLIANCE_POLICY_DIR within "
        "COMPLIANCE_POLICY_CHECK_INTERVAL seconds and deny until theirs matches.",
    )
    publish.add_argument("policy_dir", metavar="POLICY_DIR")
    status = commands.add_parser("status", help="print the published policy fingerprint")
    for parser in (publish, status):
        parser.add_argument(
            "--redis-url", metavar="URL", help="default: $COMPLIANCE_REDIS_URL", default=None
        )
        parser.add_argument(
            "--prefix", metavar="PREFIX", default=None, help="COMPLIANCE_REDIS_PREFIX"
        )
    publish.set_defaults(handler=_publish)
    status.set_defaults(handler=_status)


def _state(args: argparse.Namespace) -> Any:
    from crawler_compliance.cluster._config import ClusterConfig
    from crawler_compliance.cluster._redis_state import RedisState

    settings = {
        "COMPLIANCE_REDIS_URL": args.redis_url,
        "COMPLIANCE_REDIS_PREFIX": args.prefix,
        "COMPLIANCE_CLUSTER_WAIT": 5,
    }
    config = ClusterConfig.from_settings(settings)
    if not config.redis_url:
        raise ValueError("give --redis-url or set COMPLIANCE_REDIS_URL")
    return RedisState(config.redis_url, prefix=config.prefix, key=config.key, wait=config.wait)


def _publish(args: argparse.Namespace) -> int:
    import asyncio

    from crawler_compliance.cluster._redis_state import ClusterUnavailable
    from crawler_compliance.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.policy_dir)
    except PolicyError as exc:
        _out(f"{exc}\n", sys.stderr)
        return EXIT_USAGE

    async def publish() -> None:
        state = _state(args)
        try:
            await state.publish_policy(policy.fingerprint)
        finally:
            await state.aclose()

    try:
        asyncio.run(publish())
    except (ValueError, ClusterUnavailable) as exc:
        _out(_safe(f"crawler-compliance cluster: {exc}") + "\n", sys.stderr)
        return EXIT_USAGE
    _print(f"OK: published policy {policy.fingerprint}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    import asyncio

    from crawler_compliance.cluster._redis_state import ClusterUnavailable

    async def read() -> str | None:
        state = _state(args)
        try:
            return await state.published_policy()  # type: ignore[no-any-return]
        finally:
            await state.aclose()

    try:
        published = asyncio.run(read())
    except (ValueError, ClusterUnavailable) as exc:
        _out(_safe(f"crawler-compliance cluster: {exc}") + "\n", sys.stderr)
        return EXIT_USAGE
    _print(f"policy: {published or '(none published)'}")
    return EXIT_OK
