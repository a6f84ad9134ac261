"""``crawler-compliance audit report LOG [--html FILE] [--since/--until] [--spider S]``.

Exit codes: 0 the chain verifies; 1 it does not (the report is still
printed, headed by the problem); 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line, write


def _when(value: str) -> Any:
    from crawler_compliance.report._model import parse_time

    parsed = parse_time(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM:SSZ)"
        )
    return parsed


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="a report for people: totals per verdict, check, notice, host; runs; integrity",
        description="Summarise an audit log for legal: page decisions (kept apart from the "
        "tool's own fetches and from Scrapy's own robots.txt requests), crawls that ran with "
        "the checks switched off, denials per check, per notice (issuer, letter reference) "
        "and per host, robots.txt failures, terms flags awaiting review, time range, runs, "
        "and the chain's verification and checkpoint. Exit 0 when the chain verifies, 1 "
        "when it does not, 2 on usage errors or an unreadable log.",
    )
    report.add_argument("file", metavar="LOG")
    report.add_argument("--html", metavar="FILE", help="also write one self-contained HTML page")
    report.add_argument("--since", type=_when, metavar="WHEN", help="only records from WHEN on")
    report.add_argument("--until", type=_when, metavar="WHEN", help="only records up to WHEN")
    report.add_argument("--spider", metavar="NAME", help="only this spider's records")
    report.add_argument(
        "--policies",
        metavar="DIR",
        help="policy directory to name each notice's issuer and letter reference when the "
        "log's records do not carry them (default: policies/ when it exists)",
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(handler=run)


def _notice_facts(directory: str | None) -> dict[str, tuple[str, str]]:
    from crawler_compliance.policy import PolicyError, load_policy

    if directory is None:
        if not os.path.isdir("policies"):
            return {}
        directory = "policies"
    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        print_line(f"warning: {directory}: the policy does not load, notices not named", sys.stderr)
        print_line(str(exc.issues[0]) if exc.issues else "", sys.stderr)
        return {}
    facts = {}
    for notice in policy.notices:
        letter = next((r for r in notice.references), None)
        reference = ""
        if letter is not None:
            reference = letter.title + (f" ({letter.date})" if letter.date else "")
        facts[notice.id] = (notice.issuer.name, reference)
    return facts


def run(args: argparse.Namespace) -> int:
    from crawler_compliance.audit import iter_records, verify_tlog
    from crawler_compliance.report import Chain, Filters, build_report, render_html, render_text

    def skipped(location: str, reason: str) -> None:
        print_line(f"warning: {location}: skipped ({reason})", sys.stderr)

    try:
        # The chain, the Merkle tree and every checkpoint of the sidecar (signatures
        # are checked by `audit verify --key`; here they are reported as found).
        verification = verify_tlog(args.file)
        chain = Chain(
            verification.ok,
            verification.status.value,
            verification.problem,
            str(verification.checkpoint),
            len(verification.files),
            verification.tree_size,
            verification.root,
            verification.checkpoints,
            verification.signature.value,
        )
        report = build_report(
            args.file,
            iter_records(args.file, skipped),
            filters=Filters(args.since, args.until, args.spider),
            notices=_notice_facts(args.policies),
            chain=chain,
        )
    except OSError as exc:
        print_line(
            f"crawler-compliance audit: cannot read {args.file}: {exc.strerror or exc}",
            sys.stderr,
        )
        return EXIT_USAGE
    if args.json:
        write(json.dumps(report.to_dict(), indent=2, ensure_ascii=True) + "\n")
    else:
        write(render_text(report))
    if args.html:
        from crawler_compliance.audit import log_files

        target = os.path.abspath(args.html)
        if any(os.path.abspath(f) == target for f in log_files(args.file)):
            print_line(
                f"refusing to write the HTML report over the audit log {args.html}", sys.stderr
            )
            return EXIT_USAGE
        try:
            # Owner-only, like the audit log it summarises; replaced whole, never appended.
            fd = os.open(args.html, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as handle:
                handle.write(render_html(report))
        except OSError as exc:
            print_line(f"cannot write {args.html}: {exc.strerror or exc}", sys.stderr)
            return EXIT_USAGE
        if not args.json:
            print_line()
            print_line(f"HTML report written to {args.html}")
    return EXIT_OK if verification.ok else EXIT_DENIED
