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
from typing import TYPE_CHECKING, Any

from crawler_compliance._decision import Check, Decision, RecordKind
from crawler_compliance._sitefiles import SiteFile
from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line

if TYPE_CHECKING:
    from crawler_compliance._enforcement import Enforcer, OwnFetch


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
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity
    from crawler_compliance.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.policies)
    except PolicyError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        sys.stderr.write(f"cannot read policy directory {args.policies}: {exc}\n")
        return EXIT_USAGE

    from crawler_compliance.audit import AuditLogError

    identity = crawl_identity(
        user_agent_header=args.user_agent,
        compliance_user_agent=None,
        policy_token=policy.config.crawler.product_token,
        header_source="--user-agent",
    )
    try:
        enforcer = Enforcer.from_policy(
            policy,
            identity=identity,
            purpose=args.purpose,
            audit_path=args.audit_log,
            suffix_list_file=args.suffix_list,
        )
    except (AuditLogError, OSError) as exc:
        sys.stderr.write(f"cannot open the audit log {args.audit_log}: {exc}\n")
        return EXIT_USAGE
    except ValueError as exc:
        sys.stderr.write(f"cannot load the public suffix list {args.suffix_list}: {exc}\n")
        return EXIT_USAGE
    any_denied = False
    try:
        for url in args.urls:
            decision = decide_url(enforcer, url, offline=args.offline, timeout=args.timeout)
            any_denied = any_denied or not decision.allowed
            if args.json:
                # ASCII JSON: valid in any locale, and any input string (even
                # undecodable bytes from argv) round-trips exactly.
                sys.stdout.write(json.dumps(decision.to_dict()) + "\n")
            else:
                print_decision(decision, sys.stdout)
    finally:
        enforcer.close()
    return EXIT_DENIED if any_denied else EXIT_OK


def decide_url(
    enforcer: Enforcer, url: str, *, offline: bool, timeout: float, proxy: str | None = None
) -> Decision:
    """One URL through the enforcement path, robots.txt fetched with the stdlib fetcher.

    Recorded in the audit log when the enforcer has one; never raises for an
    input (an internal error denies).
    """
    from crawler_compliance._enforcement import AuditWriteFailed
    from crawler_compliance._route import Route, proxy_host
    from crawler_compliance.cli._fetch import fetch_robots

    route = Route(proxy=proxy_host(proxy) if proxy else None)
    try:
        plan = enforcer.plan(url, route, scrapy_safe=False, offline=offline)
        # Re-read after each file: a changed terms page makes robots.txt unneeded.
        while missing := plan.missing():
            need = missing[0]
            own = enforcer.open_own_fetch(need.kind, need.url)

            def allow_hop(hop: str, own: OwnFetch = own) -> str | None:
                own.urls.add(hop)
                decision = enforcer.decide_own_fetch(hop, own, route, scrapy_safe=False)
                return None if decision.allowed else decision.summary()

            if need.kind is SiteFile.TERMS:
                from crawler_compliance.cli._fetch import fetch_page

                try:
                    fetched = fetch_page(
                        need.url,
                        user_agent=enforcer.identity.header,
                        timeout=timeout,
                        max_bytes=need.max_bytes,
                        allow_url=lambda hop, _proxy: allow_hop(hop),  # noqa: B023
                        proxy=proxy,
                    )
                finally:
                    enforcer.close_own_fetch(own)
                enforcer.supply_terms(plan, need, enforcer.store_terms(need, fetched))
                continue
            try:
                result = fetch_robots(
                    need.url,
                    user_agent=enforcer.identity.header,
                    timeout=timeout,
                    allow_url=allow_hop,
                    proxy=proxy,
                    on_429=enforcer.on_429,
                    max_bytes=need.max_bytes,
                )
            finally:
                enforcer.close_own_fetch(own)
            enforcer.supply(plan, need, enforcer.robots_cache.put(need.key, result))
        return enforcer.conclude(plan, offline=offline)
    except AuditWriteFailed as exc:
        return exc.decision
    except Exception as exc:  # fail closed, never a traceback for an input
        decision = enforcer.internal_error(url, exc, kind=RecordKind.PAGE)
        try:
            return enforcer.record(decision)
        except AuditWriteFailed as failed:
            return failed.decision
