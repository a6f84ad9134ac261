"""``crawler-compliance robots FILE URL... --user-agent UA [--json]``: debug a robots.txt by hand.

The file is read as if a server had returned it with status 200, so the CLI
shows exactly what the crawler would decide, encoding problems included (a
binary file is "disallow all", as it would be on the wire).

Exit codes: 0 every URL allowed, 1 at least one denied, 2 usage error or
unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line
from crawler_compliance.robots import DEFAULT_MAX_BYTES, RobotsKind, robots_from_fetch


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "robots",
        help="show the robots.txt verdict for URLs, with the deciding line",
        description="Apply a robots.txt file (RFC 9309) to URLs and print each verdict with "
        "the matching line and the user-agent group used. Exit status: 0 all allowed, "
        "1 any denied, 2 usage error or unreadable file.",
    )
    parser.add_argument("file", metavar="FILE", help="robots.txt file to read ('-' for stdin)")
    parser.add_argument(
        "urls", metavar="URL", nargs="+", help="URLs (or paths such as /private/x) to check"
    )
    parser.add_argument(
        "--user-agent",
        required=True,
        metavar="UA",
        help="product token or full User-Agent header, e.g. 'MyBot/1.2'",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per URL per line"
    )
    parser.set_defaults(handler=run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(DEFAULT_MAX_BYTES * 16)
    with open(path, "rb") as handle:
        return handle.read()


def run(args: argparse.Namespace) -> int:
    try:
        body = _read(args.file)
    except OSError as exc:
        print_line(
            f"crawler-compliance robots: cannot read {args.file}: {exc.strerror or exc}",
            sys.stderr,
        )
        return EXIT_USAGE
    result = robots_from_fetch(status=200, body=body)
    if result.kind is not RobotsKind.RULES:
        print_line(f"crawler-compliance robots: {args.file}: {result.reason}", sys.stderr)
    denied = False
    for url in args.urls:
        match = result.explain(url, args.user_agent)
        denied = denied or not match.allowed
        verdict = "allow" if match.allowed else "deny"
        if args.json:
            print(
                json.dumps(
                    {
                        "url": url,
                        "verdict": verdict,
                        "line": match.line,
                        "rule": match.rule,
                        "group": list(match.group) if match.group is not None else None,
                        "reason": match.reason,
                    },
                )
            )
            continue
        if match.line is not None:
            where = f"{args.file}:{match.line}: {match.rule}"
        else:
            where = match.reason
        group = f"  [group: {', '.join(match.group)}]" if match.group else ""
        print_line(f"{verdict:<5} {url}  {where}{group}")
    return EXIT_DENIED if denied else EXIT_OK
