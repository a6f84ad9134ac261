"""``crawler-compliance spiders [PROJECT]``: a Scrapy project's spiders decided offline.

Every spider's ``start_urls``, ``allowed_domains`` and every request its
``start()`` / ``start_requests()`` yield (run with the network refused) is
decided against the registry and site records. Exit 0 when all are allowed;
1 when any is denied, or a spider's start could not be evaluated (*unchecked*,
unless ``--allow-unchecked``); 2 on usage, project or policy errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._check import missing_policy_dir, print_decision
from crawler_compliance.cli._output import print_line, print_lines, safe, write


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "spiders",
        help="check a Scrapy project's spiders (start_urls, allowed_domains, start()) offline",
        description="Decide every spider's start_urls, allowed_domains and the requests its "
        "start() and start_requests() yield (run with the network refused) against the "
        "registry and site records, without crawling. Exit 0 when all are allowed, 1 when "
        "any is denied or a spider is unchecked (its start could not be evaluated), 2 on "
        "usage, project or policy errors.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run_spiders)


def _positive(kind: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return convert


def add_arguments(parser: argparse.ArgumentParser, *, project: bool = True) -> None:
    from crawler_compliance.scrapy._spiders import (
        DEFAULT_MAX_START_REQUESTS,
        DEFAULT_START_TIMEOUT,
    )

    if project:
        parser.add_argument(
            "project",
            nargs="?",
            default=".",
            metavar="PROJECT_DIR",
            help="the Scrapy project: a directory holding scrapy.cfg, or below one (default: .)",
        )
    parser.add_argument(
        "--policies",
        metavar="DIR",
        help="policy directory (default: the project's COMPLIANCE_POLICY_DIR, relative to "
        "the directory of scrapy.cfg, else policies/ there)",
    )
    parser.add_argument("--purpose", help="declared crawl purpose (default: the policy's)")
    parser.add_argument("--json", action="store_true", help="one JSON object per finding")
    parser.add_argument(
        "--allow-unchecked",
        action="store_true",
        help="exit 0 even when a spider's start could not be evaluated (it is still listed)",
    )
    parser.add_argument(
        "--start-timeout",
        type=_positive(float),
        default=DEFAULT_START_TIMEOUT,
        metavar="SECONDS",
        help=f"time allowed for each spider's start (default: {DEFAULT_START_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-start-requests",
        type=_positive(int),
        default=DEFAULT_MAX_START_REQUESTS,
        metavar="N",
        help="requests read from each spider's start before it is reported unchecked "
        f"(default: {DEFAULT_MAX_START_REQUESTS})",
    )


def run_spiders(args: argparse.Namespace, settings: Any = None, root: Any = None) -> int:
    """Run the command; ``settings`` are given by ``scrapy compliance spiders``."""
    from crawler_compliance.scrapy._spiders import open_project, resolve_policy_dir

    if args.policies:  # relative to where the command was run, before open_project's chdir
        args.policies = str(resolve_policy_dir(args.policies, None))
    if settings is not None:
        return _run(args, settings, root)
    try:
        with open_project(args.project) as project:
            return _run(args, project.settings, project.root)
    except (OSError, ImportError, KeyError, ValueError) as exc:
        print_line(f"cannot load the Scrapy project in {args.project}: {exc}", sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace, settings: Any, root: Any) -> int:
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity
    from crawler_compliance.policy import PolicyError, load_policy
    from crawler_compliance.scrapy._spiders import (
        _spider_classes,
        check_spider_classes,
        resolve_policy_dir,
    )

    if args.policies:
        policy_dir = resolve_policy_dir(args.policies, None)
    else:
        policy_dir = resolve_policy_dir(settings.get("COMPLIANCE_POLICY_DIR"), root)
    if not policy_dir.is_dir():
        print_line(f"crawler-compliance spiders: {missing_policy_dir(policy_dir)}", sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy(policy_dir)
        checker = Enforcer.from_policy(
            policy,
            identity=crawl_identity(
                user_agent_header=settings.get("USER_AGENT") or None,
                compliance_user_agent=settings.get("COMPLIANCE_USER_AGENT") or None,
                policy_token=policy.config.crawler.product_token,
            ),
            purpose=args.purpose or settings.get("COMPLIANCE_PURPOSE") or None,
            suffix_list_file=settings.get("COMPLIANCE_SUFFIX_LIST") or None,
        )
    except PolicyError as exc:
        print_line(
            f"crawler-compliance spiders: the policy does not load ({policy_dir}):", sys.stderr
        )
        print_lines(f"{exc}", sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as exc:  # a suffix list that does not load
        print_line(f"crawler-compliance spiders: {exc}", sys.stderr)
        return EXIT_USAGE
    try:
        classes = _spider_classes(settings)
    except (ImportError, KeyError, ValueError) as exc:
        print_line(f"cannot load the project's spiders: {exc}", sys.stderr)
        return EXIT_USAGE
    findings = check_spider_classes(
        checker,
        classes,
        settings,
        timeout=args.start_timeout,
        max_requests=args.max_start_requests,
    )
    for finding in findings:
        if args.json:
            data: dict[str, Any] = {"spider": finding.spider, "source": finding.source}
            if finding.decision is None:
                data.update(verdict="unchecked", reason=finding.unchecked)
            else:
                data.update(finding.decision.to_dict())
            if finding.defined_at:
                data["defined_at"] = finding.defined_at
            sys.stdout.write(json.dumps(data) + "\n")
        elif finding.decision is None:
            print_line(f"UNCHECKED {finding.spider}: {finding.unchecked}")
        else:
            # A spider's name is the project's text: escaped like everything we print.
            write(safe(f"{finding.spider} ({finding.source}): "), sys.stdout)
            print_decision(finding.decision, sys.stdout)
    denied = [f for f in findings if f.denied]
    unchecked = [f for f in findings if f.decision is None]
    if not args.json:
        spiders = len(classes)
        print_line(
            f"{spiders} spider(s), {len(findings) - len(unchecked)} URL(s) decided: "
            f"{len(denied)} denied, {len(unchecked)} spider(s) unchecked"
            + (f" ({', '.join(sorted({f.spider for f in unchecked}))})" if unchecked else "")
        )
    if denied:
        return EXIT_DENIED
    if unchecked and not args.allow_unchecked:
        return EXIT_DENIED
    return EXIT_OK
