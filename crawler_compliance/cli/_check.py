"""``crawler-compliance check URL...``: one decision per URL, for people and CI.

Without ``--offline`` it fetches each origin's robots.txt with the small
standard-library fetcher; that fetch (and every redirect hop) is itself
checked against the registry before it is sent, and recorded in the audit
log when ``--audit-log`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler_compliance._decision import Check, Decision
from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line, print_lines


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="decide whether URLs may be fetched",
        description="Decide each URL against the registry, site records and robots.txt. "
        "Exit 0 when all are allowed, 1 when any is denied, 2 on usage or policy errors.",
    )
    parser.add_argument("urls", nargs="+", metavar="URL")
    parser.add_argument(
        "--policies", default="policies", metavar="DIR", help="policy directory (default: policies)"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="only checks that need no network (registry, site records)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per URL per line")
    parser.add_argument(
        "--user-agent",
        metavar="UA",
        help="User-Agent header; its product token is matched in robots.txt "
        "(default: the policy's crawler.product_token)",
    )
    parser.add_argument("--purpose", help="declared crawl purpose (default: the policy's)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="robots.txt fetch timeout in seconds (default: 10)",
    )
    parser.add_argument(
        "--audit-log",
        metavar="FILE",
        help="append every decision (and robots.txt fetch) to this audit log",
    )
    parser.add_argument(
        "--suffix-list",
        metavar="FILE",
        help="a newer public_suffix_list.dat (default: tldextract's bundled "
        "list; nothing is downloaded)",
    )
    parser.set_defaults(handler=run)


def print_decision(decision: Decision, out: Any) -> None:
    verdict = decision.verdict.value.upper()
    print_line(f"{verdict:<5} {decision.url}", out)
    if decision.offline:
        print_line("      (offline: robots.txt and terms pages were not fetched)", out)
    for reason in decision.reasons:
        rule = f" «{reason.rule}»" if reason.rule and reason.check is Check.ROBOTS else ""
        where = ""
        if reason.source:
            where = f"  [{reason.source}{':' + str(reason.line) if reason.line else ''}]"
        print_line(
            f"      {reason.outcome:<5} {reason.check.value}: {reason.message}{rule}{where}", out
        )


def run(args: argparse.Namespace) -> int:
    from crawler_compliance._checker import ComplianceChecker
    from crawler_compliance.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.policies)
    except PolicyError as exc:
        print_lines(f"{exc}", sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print_lines(f"cannot read policy directory {args.policies}: {exc}", sys.stderr)
        return EXIT_USAGE

    from crawler_compliance.robots import product_token

    user_agent = args.user_agent or f"{policy.config.crawler.product_token}/1.0"
    try:
        checker = ComplianceChecker(
            policy,
            user_agent=product_token(user_agent),
            purpose=args.purpose,
            suffix_list_file=args.suffix_list,
        )
    except (OSError, ValueError) as exc:
        print_lines(f"cannot load the public suffix list {args.suffix_list}: {exc}", sys.stderr)
        return EXIT_USAGE
    audit = None
    if args.audit_log:
        from crawler_compliance._policy_audit import open_audit_log
        from crawler_compliance.audit import AuditLogError

        try:
            audit = open_audit_log(policy, args.audit_log)
        except (AuditLogError, OSError) as exc:
            print_lines(f"cannot open the audit log {args.audit_log}: {exc}", sys.stderr)
            return EXIT_USAGE
    fetcher = _RobotsFetcher(checker, user_agent, args.timeout, audit)
    any_denied = False
    try:
        for url in args.urls:
            try:
                pre = checker.pre_robots(url)
                robots = None
                if pre.needs_robots and not args.offline:
                    assert pre.canonical is not None
                    robots = fetcher.get(pre.canonical)
                decision = checker.decide(url, robots, offline=args.offline, pre=pre)
            except Exception as exc:  # fail closed, never a traceback for an input
                decision = checker.internal_error(url, exc)
            if audit is not None:
                audit.append(
                    decision, purpose=checker.purpose, policy_fingerprint=checker.policy_fingerprint
                )
            any_denied = any_denied or not decision.allowed
            if args.json:
                # ASCII JSON: valid in any locale, and any input string (even
                # undecodable bytes from argv) round-trips exactly.
                sys.stdout.write(json.dumps(decision.to_dict()) + "\n")
            else:
                print_decision(decision, sys.stdout)
    finally:
        if audit is not None:
            audit.close()
    return EXIT_DENIED if any_denied else EXIT_OK


class _RobotsFetcher:
    """Fetch each origin's robots.txt once per run, registry-checked hop by hop."""

    def __init__(self, checker: Any, user_agent: str, timeout: float, audit: Any) -> None:
        self.checker = checker
        self.user_agent = user_agent
        self.timeout = timeout
        self.audit = audit
        self._results: dict[tuple[str, str, int], Any] = {}

    def _allow_hop(self, url: str) -> str | None:
        decision = self.checker.decide_own_fetch(url)
        if self.audit is not None:
            self.audit.append(
                decision,
                purpose=self.checker.purpose,
                policy_fingerprint=self.checker.policy_fingerprint,
            )
        return None if decision.allowed else decision.summary()

    def get(self, canonical: Any) -> Any:
        from crawler_compliance.cli._fetch import fetch_robots

        origin = canonical.origin
        if origin not in self._results:
            self._results[origin] = fetch_robots(
                canonical.robots_url,
                user_agent=self.user_agent,
                timeout=self.timeout,
                allow_url=self._allow_hop,
                on_429=self.checker.policy.config.robots.on_429,
            )
        return self._results[origin]
