"""``crawler-compliance spiders [PROJECT]``: a Scrapy project's spiders decided offline."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._check import print_decision
from crawler_compliance.cli._output import print_lines, safe, write


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "spiders",
        help="check a Scrapy project's spiders (start_urls, allowed_domains) offline",
        description="Decide every spider's start_urls and allowed_domains against the registry "
        "and site records, without crawling. Exit 0 when all are allowed, 1 when any is "
        "denied, 2 on usage or policy errors.",
    )
    parser.add_argument(
        "project",
        nargs="?",
        default=".",
        metavar="PROJECT_DIR",
        help="directory holding scrapy.cfg (default: .)",
    )
    parser.add_argument("--policies", default="policies", metavar="DIR")
    parser.add_argument("--purpose")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_spiders)


def run_spiders(args: argparse.Namespace) -> int:
    from crawler_compliance._checker import ComplianceChecker
    from crawler_compliance.policy import PolicyError, load_policy
    from crawler_compliance.scrapy._spiders import check_project_spiders

    try:
        checker = ComplianceChecker(load_policy(args.policies), purpose=args.purpose)
        findings = check_project_spiders(checker, args.project)
    except PolicyError as exc:
        print_lines(f"{exc}", sys.stderr)
        return EXIT_USAGE
    except (OSError, ImportError, KeyError) as exc:
        print_lines(f"cannot load the Scrapy project in {args.project}: {exc}", sys.stderr)
        return EXIT_USAGE
    for finding in findings:
        if args.json:
            data = {
                "spider": finding.spider,
                "source": finding.source,
                **finding.decision.to_dict(),
            }
            sys.stdout.write(json.dumps(data) + "\n")
        else:
            # A spider's name is the project's text: escaped like everything we print.
            write(safe(f"{finding.spider} ({finding.source}): "), sys.stdout)
            print_decision(finding.decision, sys.stdout)
    return EXIT_OK if all(f.allowed for f in findings) else EXIT_DENIED
