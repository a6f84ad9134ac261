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
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from crawler_compliance._decision import Check
from crawler_compliance.audit import Checkpoint
from crawler_compliance.audit._read import (
    deciding_reason,
    host_matches,
    iter_records,
    record_reasons,
)
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE, _proofs
from crawler_compliance.cli._output import safe as _safe
from crawler_compliance.cli._output import write as _out
from crawler_compliance.report._model import text as record_text

_TOP = 20
_text = record_text  # one rendering of record values, shared with the report


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
        "--host",
        metavar="H",
        type=_host_arg,
        help="only this host, its subdomains, or this registrable domain (a URL is accepted: "
        "its host is used)",
    )
    show.add_argument(
        "--check",
        metavar="CHECK",
        choices=[check.value for check in Check],
        help="only records with a reason from this check: "
        + ", ".join(check.value for check in Check),
    )
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.set_defaults(handler=_show)

    import_module("crawler_compliance.cli._report").register(commands)
    _proofs.register(commands, verify)  # keygen, prove, verify-proof, consistency; verify --key


def _host_arg(text: str) -> str:
    """A host, or the host of a URL (``https://www.example.com/x`` -> ``www.example.com``)."""
    if "://" in text:
        try:
            host = urlsplit(text.strip()).hostname
        except ValueError:
            host = None
        if not host:
            raise argparse.ArgumentTypeError(f"{text!r} is a URL without a host")
        return host
    return text


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
            if args.check and not any(
                _text(r.get("check")) == args.check for r in record_reasons(record)
            ):
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


_ROW = "{:>6}  {:<20}  {:<7}  {:<30}  {:<14}  {:<90}  {}\n"


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
        if rule and check in ("registry", "site"):
            # The notice or site record id first: visible however long the message.
            summary = f"[{rule}] {summary}"
        elif rule and rule not in summary:
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
        _clip(summary, 90),
        _safe(_text(record.get("url"))) or "-",
    )
