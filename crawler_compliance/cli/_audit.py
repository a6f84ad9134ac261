"""``crawler-compliance audit verify | show | report`` (and, from ``_proofs``,
``keygen | prove | verify-proof | consistency``).

Exit codes (stable, documented in README.md):
0 intact; 1 tampered, truncated against a checkpoint, reordered or torn
(``report``: the chain did not verify); 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from crawler_compliance.audit import Checkpoint, verify_log
from crawler_compliance.audit._read import (
    deciding_reason,
    host_matches,
    iter_records,
    record_reasons,
)
from crawler_compliance.cli import EXIT_DENIED as EXIT_FAILED
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE, _proofs
from crawler_compliance.cli._output import print_line as _print
from crawler_compliance.cli._output import safe as _safe
from crawler_compliance.cli._output import write as _out

_TOP = 20


def _text(value: Any) -> str:
    """Any JSON value of a record as one line of text ('' for null)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        return "<unprintable>"


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="verify, show, summarise and prove audit logs",
        description="Verify, show and summarise a crawler-compliance audit log "
        "(the file and its rotated siblings FILE.000001, FILE.000002, ...).",
    )
    commands = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    commands.required = True

    verify = commands.add_parser(
        "verify",
        help="check the hash chain (exit 0 intact, 1 not, 2 unreadable)",
        description="Recompute every record's hash and check the chain, sequence numbers "
        "and timestamps across all rotated files. Exit 0 intact; 1 tampered, truncated "
        "against --checkpoint, reordered, or a torn last line; 2 usage error or unreadable.",
    )
    verify.add_argument("file", metavar="FILE")
    verify.add_argument(
        "--checkpoint",
        metavar="SEQ:HASH",
        type=_checkpoint,
        help="the checkpoint printed at the end of the crawl; fails when the log no "
        "longer reaches it or holds a different record there",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")

    show = commands.add_parser(
        "show",
        help="print the decisions as a table",
        description="Print the recorded decisions, oldest first (no verification: "
        "use 'audit verify').",
    )
    show.add_argument("file", metavar="FILE")
    show.add_argument("--denied", action="store_true", help="only denied requests")
    show.add_argument(
        "--host", metavar="H", help="only this host, its subdomains, or this registrable domain"
    )
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.set_defaults(handler=_show)

    report = commands.add_parser(
        "report",
        help="counts per verdict, check, host and notice",
        description="Summarise a log: decisions per verdict, denials per check, "
        "per host and per cease-and-desist notice, and whether the chain verifies.",
    )
    report.add_argument("file", metavar="FILE")
    report.add_argument("--json", action="store_true", help="print the summary as JSON")
    report.set_defaults(handler=_report)

    _proofs.register(commands, verify)  # keygen, prove, verify-proof, consistency; verify --key


def _checkpoint(text: str) -> Checkpoint:
    try:
        return Checkpoint.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _unreadable(path: str, exc: OSError) -> int:
    reason = exc.strerror or str(exc)
    _out(_safe(f"crawler-compliance audit: cannot read {path}: {reason}") + "\n", sys.stderr)
    return EXIT_USAGE


def _skip_warning(location: str, reason: str) -> None:
    _out(_safe(f"warning: {location}: skipped ({reason})") + "\n", sys.stderr)


def _show(args: argparse.Namespace) -> int:
    try:
        records = iter_records(args.file, _skip_warning)
        write = _out
        if not args.json:
            write(_ROW.format("SEQ", "TIME", "VERDICT", "HOST", "CHECK", "REASON", "URL"))
        for record in records:
            if args.denied and record.get("verdict") != "deny":
                continue
            if args.host and not host_matches(record, args.host):
                continue
            if args.json:
                # ASCII-only: lone surrogates and control characters come out as
                # \u escapes, never raw (and never an encoding error).
                try:
                    line = json.dumps(record, ensure_ascii=True)
                except (ValueError, RecursionError):
                    _skip_warning("record", "cannot be printed as JSON")
                    continue
                write(line + "\n")
            else:
                write(_table_row(record))
    except OSError as exc:
        return _unreadable(args.file, exc)
    return EXIT_OK


_ROW = "{:>6}  {:<20}  {:<7}  {:<30}  {:<14}  {:<50}  {}\n"


def _clip(value: Any, width: int) -> str:
    text = _safe(_text(value)) or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def _table_row(record: dict[str, Any]) -> str:
    reason = deciding_reason(record)
    check = summary = None
    if reason is not None:
        check = reason.get("check")
        summary = _text(reason.get("message"))
        rule = _text(reason.get("rule"))
        if rule and rule not in summary:
            summary = f"{summary} [{rule}]"
    elif record.get("verdict") == "allow":
        summary = "allowed"
    ts = _text(record.get("ts"))
    time_text = f"{ts[:10]} {ts[11:19]}Z" if len(ts) >= 19 else ts
    return _ROW.format(
        _clip(record.get("seq", "?"), 12),
        _clip(time_text, 20),
        _clip(record.get("verdict"), 7),
        _clip(record.get("host"), 30),
        _clip(check, 14),
        _clip(summary, 50),
        _safe(_text(record.get("url"))) or "-",
    )


def _report(args: argparse.Namespace) -> int:
    try:
        verification = verify_log(args.file)
        summary = summarise(iter_records(args.file))
    except OSError as exc:
        return _unreadable(args.file, exc)
    summary["chain"] = {
        "ok": verification.ok,
        "status": verification.status.value,
        "problem": verification.problem,
        "checkpoint": str(verification.checkpoint),
    }
    if args.json:
        _out(json.dumps(summary, indent=2, ensure_ascii=True) + "\n")
    else:
        _print_summary(args.file, summary, len(verification.files))
    return EXIT_OK if verification.ok else EXIT_FAILED


def summarise(records: Any) -> dict[str, Any]:
    """Counts per verdict, denials per check / host / notice, decisions per host."""
    verdicts: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    hosts: dict[str, Counter[str]] = {}
    total = 0
    for record in records:
        total += 1
        verdict = _text(record.get("verdict")) or "-"
        verdicts[verdict] += 1
        host = _text(record.get("host")) or "-"
        hosts.setdefault(host, Counter())[verdict] += 1
        if verdict != "deny":
            continue
        for reason in record_reasons(record):
            if reason.get("outcome") != "deny":
                continue
            checks[_text(reason.get("check")) or "-"] += 1
            if reason.get("check") == "registry" and reason.get("rule"):
                notices[_text(reason["rule"])] += 1
    by_host = sorted(
        hosts.items(), key=lambda item: (-item[1]["deny"], -sum(item[1].values()), item[0])
    )
    return {
        "records": total,
        "verdicts": dict(verdicts.most_common()),
        "denials_by_check": dict(checks.most_common()),
        "denials_by_notice": dict(notices.most_common()),
        "hosts": {host: {"allow": c["allow"], "deny": c["deny"]} for host, c in by_host},
    }


def _print_summary(path: str, summary: dict[str, Any], files: int) -> None:
    chain = summary["chain"]
    _print(f"audit report: {path} ({summary['records']} record(s), {files} file(s))")
    if chain["ok"]:
        _print(f"chain: intact, checkpoint {chain['checkpoint']}")
    else:
        _print(f"chain: {chain['status']}: {chain['problem']}")
    _print()
    _print("verdicts:")
    for verdict, count in summary["verdicts"].items():
        _print(f"  {verdict:<30} {count:>8}")
    for title, key in (
        ("denials by check:", "denials_by_check"),
        ("denials by notice:", "denials_by_notice"),
    ):
        _print()
        _print(title)
        if not summary[key]:
            _print("  (none)")
        for name, count in summary[key].items():
            _print(f"  {name:<30} {count:>8}")
    hosts = summary["hosts"]
    shown = list(hosts.items())[:_TOP]
    _print()
    _print(f"hosts (most denied first{', top ' + str(_TOP) if len(hosts) > _TOP else ''}):")
    _print(f"  {'HOST':<40} {'DENY':>8} {'ALLOW':>8}")
    for host, counts in shown:
        _print(f"  {_clip(host, 40):<40} {counts['deny']:>8} {counts['allow']:>8}")
