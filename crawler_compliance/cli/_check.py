"""``crawler-compliance check URL...``: one decision per URL, for people and CI.

Without ``--offline`` it fetches each origin's robots.txt with the small
standard-library fetcher; that fetch (and every redirect hop) is itself
checked against the registry before it is sent, and recorded in the audit
log when ``--audit-log`` is given.

Run inside a Scrapy project (a ``scrapy.cfg`` here or above), it reads the
project's settings so it decides as a crawl of this project would: the
policy directory (``COMPLIANCE_POLICY_DIR``, relative to the project), the
purpose, and the robots.txt product token (``USER_AGENT`` /
``COMPLIANCE_USER_AGENT``, through :func:`crawler_compliance._identity.crawl_identity`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler_compliance._decision import Check, Decision, Outcome, Reason, RecordKind, decide
from crawler_compliance._sitefiles import SiteFile
from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line, print_lines, safe

if TYPE_CHECKING:
    from crawler_compliance._enforcement import Enforcer, OwnFetch

MAX_URL_LINE = 64 * 1024  # a URL list line longer than this is not a URL


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="decide whether URLs may be fetched",
        description="Decide each URL against the registry, site records and robots.txt. "
        "Exit 0 when all are allowed, 1 when any is denied, 2 on usage or policy errors.",
    )
    parser.add_argument(
        "urls", nargs="*", metavar="URL", help="URLs to decide ('-' reads them from stdin)"
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--urls-from",
        metavar="FILE",
        help="read URLs from FILE, one per line ('-' for stdin; blank lines and lines "
        "starting with # are skipped)",
    )
    parser.add_argument(
        "--policies",
        metavar="DIR",
        help="policy directory (default: in a Scrapy project, its COMPLIANCE_POLICY_DIR "
        "relative to scrapy.cfg's directory; else policies/)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="only checks that need no network (registry, site records)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "junit"),
        default=None,
        help="table (default): readable blocks; json: one object per URL per line; "
        "junit: JUnit XML, one test case per URL, for CI dashboards",
    )
    parser.add_argument(
        "--json",
        action="store_const",
        const="json",
        dest="json_alias",
        help="same as --format json",
    )
    parser.add_argument(
        "--user-agent",
        metavar="UA",
        help="User-Agent header; its product token is matched in robots.txt (default: what "
        "a crawl would send: the project's USER_AGENT / COMPLIANCE_USER_AGENT, outside a "
        "project the policy's crawler.product_token)",
    )
    parser.add_argument("--purpose", help="declared crawl purpose (default: the policy's)")
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="fetch robots.txt through this HTTP proxy (default: http_proxy / https_proxy "
        "/ no_proxy from the environment, as a crawl does)",
    )
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
            f"      {reason.outcome.value:<5} {reason.check.value}: {reason.message}{rule}{where}",
            out,
        )


# --- what a crawl of this project would use ---------------------------------------------


@dataclass(frozen=True)
class CrawlSettings:
    """The settings of a crawl that matter to a decision (from a project, or defaults)."""

    root: Path | None = None  # the project directory, when there is one
    policy_dir: str | None = None
    user_agent: str | None = None  # USER_AGENT
    compliance_user_agent: str | None = None  # COMPLIANCE_USER_AGENT
    purpose: str | None = None
    suffix_list: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, root: Path | None) -> CrawlSettings:
        return cls(
            root=root,
            policy_dir=settings.get("COMPLIANCE_POLICY_DIR") or None,
            user_agent=settings.get("USER_AGENT") or None,
            compliance_user_agent=settings.get("COMPLIANCE_USER_AGENT") or None,
            purpose=settings.get("COMPLIANCE_PURPOSE") or None,
            suffix_list=settings.get("COMPLIANCE_SUFFIX_LIST") or None,
        )


def _project_settings() -> CrawlSettings:
    """The settings of the Scrapy project around the current directory, if any."""
    from crawler_compliance.scrapy._spiders import find_project_root, open_project

    if find_project_root() is None:
        return CrawlSettings()
    with open_project() as project:
        return CrawlSettings.from_settings(project.settings, project.root)


class _TooLong(str):
    """The start of a URL-list line past :data:`MAX_URL_LINE`: denied, never decided cut."""


def _urls(args: argparse.Namespace) -> Iterator[str]:
    def lines(handle: Any) -> Iterator[str]:
        # readline(limit): a file of one endless line is read in bounded pieces,
        # and the rest of an over-long line is skipped, never held in memory.
        while True:
            line = handle.readline(MAX_URL_LINE)
            if not line:
                return
            if len(line) >= MAX_URL_LINE and not line.endswith("\n"):
                while True:
                    rest = handle.readline(MAX_URL_LINE)
                    if not rest or rest.endswith("\n"):
                        break
                yield _TooLong(line[:200])
                continue
            url = line.strip()
            if url and not url.startswith("#"):
                yield url

    for url in args.urls:
        if url == "-":
            yield from lines(sys.stdin)
        else:
            yield url
    if args.urls_from:
        if args.urls_from == "-":
            yield from lines(sys.stdin)
        else:
            with open(args.urls_from, encoding="utf-8", errors="surrogateescape") as handle:
                yield from lines(handle)


# --- the decision: one small function -------------------------------------------------


def inactive_notice_reasons(checker: Any, decision: Decision) -> list[Reason]:
    """INFO reasons for notices that cover the URL's host but are not in force today."""
    from crawler_compliance._hosts import UnfetchableURL, canonicalize

    try:
        canonical = canonicalize(decision.url)
    except (UnfetchableURL, ValueError):
        return []
    host, is_ip = canonical.host, canonical.is_ip
    from crawler_compliance._notices import notice_state

    today = checker._today()
    notices = {notice.id: notice for notice in checker.policy.notices}
    reasons = []
    seen: set[str] = set()
    for hit in checker.registry.match(host, is_ip=is_ip, on=today):
        if hit.active or hit.notice_id in seen:
            continue
        seen.add(hit.notice_id)
        notice = notices.get(hit.notice_id)
        why = notice_state(notice, today) if notice is not None else "not in force"
        reasons.append(
            Reason(
                Check.REGISTRY,
                Outcome.INFO,
                f"notice {hit.notice_id!r} from {hit.issuer} matches {host} "
                f"(matched {hit.matched!r}) but is not in force today: {why}",
                rule=hit.notice_id,
                source=str(hit.source),
                line=hit.line,
            )
        )
    return reasons


def missing_policy_dir(path: Path) -> str:
    """The sentence for a policy directory that is not there, with the absolute path tried."""
    what = "is not a directory" if path.exists() else "does not exist"
    return f"the policy directory {os.path.abspath(path)} {what}"


def decide_url(
    enforcer: Enforcer,
    url: str,
    *,
    offline: bool,
    timeout: float,
    proxy: str | None = None,
    host_headers: tuple[str, ...] = (),
    user_agents: tuple[str, ...] = (),
) -> Decision:
    """One URL through the enforcement path, robots.txt fetched with the stdlib fetcher.

    This is all of ``check``'s decision (the plugin uses it too). Recorded in
    the audit log when the enforcer has one; never raises for an input (an
    internal error denies). ``proxy``: the proxy URL robots.txt is fetched
    through, its host part of the route checked against the registry;
    ``host_headers`` / ``user_agents``: what a request (e.g. one a spider's
    ``start()`` yields) carries, decided as the crawl decides them.
    """
    from crawler_compliance._enforcement import AuditWriteFailed
    from crawler_compliance._route import Route, proxy_host
    from crawler_compliance.cli._fetch import fetch_robots

    route = Route(
        host_headers=host_headers,
        proxy=proxy_host(proxy) if proxy else None,
        user_agents=user_agents,
    )
    try:
        plan = enforcer.plan(url, route, scrapy_safe=False, offline=offline)
        # Re-read after each file: a changed terms page makes robots.txt unneeded.
        while missing := plan.missing():
            need = missing[0]
            own = enforcer.open_own_fetch(need.kind, need.url)
            if need.kind is SiteFile.TERMS:
                from crawler_compliance.cli._fetch import fetch_file

                try:
                    fetched = fetch_file(
                        need.url,
                        user_agent=enforcer.identity.header,
                        timeout=timeout,
                        max_bytes=need.max_bytes,
                        allow_url=_hop_rule(enforcer, own, route),
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
                    allow_url=_hop_rule(enforcer, own, route),
                    proxy=proxy,
                    on_429=enforcer.on_429,
                    max_bytes=need.max_bytes,
                )
            finally:
                enforcer.close_own_fetch(own)
            enforcer.supply(plan, need, enforcer.robots_cache.put(need.key, result))
        if not offline:
            _fetch_signal_files(enforcer, plan, route, timeout=timeout, proxy=proxy)
        return enforcer.conclude(plan, offline=offline)
    except AuditWriteFailed as exc:
        return exc.decision
    except Exception as exc:  # fail closed, never a traceback for an input
        decision = enforcer.internal_error(url, exc, kind=RecordKind.PAGE)
        try:
            return enforcer.record(decision)
        except AuditWriteFailed as failed:
            return failed.decision


def _hop_rule(enforcer: Enforcer, own: OwnFetch, route: Any) -> Callable[[str], str | None]:
    """The stdlib fetcher's per-hop question: each hop is an audited own fetch first."""

    def allow_hop(hop: str) -> str | None:
        own.urls.add(hop)
        decision = enforcer.decide_own_fetch(hop, own, route, scrapy_safe=False)
        return None if decision.allowed else decision.summary()

    return allow_hop


def _fetch_signal_files(
    enforcer: Enforcer, plan: Any, route: Any, *, timeout: float, proxy: str | None
) -> None:
    """tdmrep.json and RSL licences the URL needs (signals), each an audited own fetch."""
    from crawler_compliance.cli._fetch import fetch_file

    for need in enforcer.signal_needs(plan):
        own = enforcer.open_own_fetch(need.kind, need.url)
        try:
            fetched = fetch_file(
                need.url,
                user_agent=enforcer.identity.header,
                timeout=timeout,
                allow_url=_hop_rule(enforcer, own, route),
                proxy=proxy,
                max_bytes=need.max_bytes,
            )
        finally:
            enforcer.close_own_fetch(own)
        enforcer.supply_signal_file(need, fetched)


def _environment_proxy(url: str) -> str | None:
    """The proxy a crawl would use for ``url`` from http_proxy / https_proxy / no_proxy."""
    import urllib.request

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme)
    if not proxy or (parts.hostname and urllib.request.proxy_bypass(parts.hostname)):
        return None
    return proxy


def run(args: argparse.Namespace, settings: Any = None, root: Path | None = None) -> int:
    """Run ``check``; ``settings`` are given by ``scrapy compliance check``."""
    output = args.json_alias or args.format or "table"
    if not args.urls and not args.urls_from:
        # A usage error, like argparse's own: exit status 2.
        print_line(
            "crawler-compliance check: error: no URL given (URL..., '-' or --urls-from)", sys.stderr
        )
        raise SystemExit(EXIT_USAGE)
    try:
        crawl = (
            CrawlSettings.from_settings(settings, root)
            if settings is not None
            else _project_settings()
        )
    except (OSError, ImportError, ValueError) as exc:
        print_line(f"crawler-compliance check: cannot load the Scrapy project: {exc}", sys.stderr)
        return EXIT_USAGE
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity
    from crawler_compliance.policy import PolicyError, load_policy
    from crawler_compliance.scrapy._spiders import resolve_policy_dir

    if args.policies:
        policy_dir = Path(args.policies)  # shown as given in every error
    else:
        policy_dir = resolve_policy_dir(crawl.policy_dir, crawl.root)
    if not policy_dir.is_dir():
        print_line(f"crawler-compliance check: {missing_policy_dir(policy_dir)}", sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy(policy_dir)
    except PolicyError as exc:
        print_lines(f"{exc}", sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print_lines(f"cannot read policy directory {policy_dir}: {exc}", sys.stderr)
        return EXIT_USAGE

    from crawler_compliance.audit import AuditLogError

    declared = policy.config.crawler.product_token
    if args.user_agent:
        identity = crawl_identity(
            user_agent_header=args.user_agent,
            compliance_user_agent=None,
            policy_token=declared,
            header_source="--user-agent",
        )
    else:
        identity = crawl_identity(
            user_agent_header=crawl.user_agent if crawl.root else None,
            compliance_user_agent=crawl.compliance_user_agent,
            policy_token=declared,
        )
    for warning in identity.warnings:
        print_line(f"warning: {warning}", sys.stderr)
    suffix_list = args.suffix_list or crawl.suffix_list
    try:
        enforcer = Enforcer.from_policy(
            policy,
            identity=identity,
            purpose=args.purpose or crawl.purpose,
            audit_path=args.audit_log,
            suffix_list_file=suffix_list,
        )
    except (AuditLogError, OSError) as exc:
        print_lines(f"cannot open the audit log {args.audit_log}: {exc}", sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print_lines(f"cannot load the public suffix list {suffix_list}: {exc}", sys.stderr)
        return EXIT_USAGE
    decisions: list[tuple[Decision, list[Reason]]] = []
    any_denied = False
    try:
        for url in _urls(args):
            if isinstance(url, _TooLong):
                decision = decide(
                    f"{url}…",
                    [
                        Reason(
                            Check.URL,
                            Outcome.DENY,
                            f"a line of the URL list is longer than {MAX_URL_LINE} characters: "
                            "not a URL, not decided",
                        )
                    ],
                )
            else:
                proxy = args.proxy or _environment_proxy(url)
                decision = decide_url(
                    enforcer, url, offline=args.offline, timeout=args.timeout, proxy=proxy
                )
            info = inactive_notice_reasons(enforcer.checker, decision)
            any_denied = any_denied or not decision.allowed
            if output == "json":
                # ASCII JSON: valid in any locale, and any input string (even
                # undecodable bytes from argv) round-trips exactly.
                data = decision.to_dict()
                if info:
                    data["information"] = [reason.to_dict() for reason in info]
                sys.stdout.write(json.dumps(data) + "\n")
            elif output == "table":
                print_decision(decision, sys.stdout)
                for reason in info:
                    print_line(f"      info  {reason.check.value}: {reason.message}")
            else:
                decisions.append((decision, info))
    except OSError as exc:
        print_line(f"crawler-compliance check: cannot read {args.urls_from}: {exc}", sys.stderr)
        return EXIT_USAGE
    finally:
        enforcer.close()
    if output == "junit":
        sys.stdout.write(junit_xml(decisions))
    return EXIT_DENIED if any_denied else EXIT_OK


def junit_xml(decisions: list[tuple[Decision, list[Reason]]]) -> str:
    """JUnit XML: one ``<testcase>`` per URL; a denied URL is a ``<failure>``."""
    import xml.etree.ElementTree as ET

    def text(value: str) -> str:
        # XML 1.0 cannot hold control characters at all: show them escaped.
        return safe(value)

    denied = sum(1 for decision, _ in decisions if not decision.allowed)
    suites = ET.Element("testsuites", name="crawler-compliance", tests=str(len(decisions)))
    suites.set("failures", str(denied))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="crawler-compliance check",
        tests=str(len(decisions)),
        failures=str(denied),
        errors="0",
        skipped="0",
        timestamp=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for decision, info in decisions:
        case = ET.SubElement(
            suite,
            "testcase",
            name=text(decision.url),
            classname=f"crawler-compliance.{text(decision.host or 'invalid-url')}",
            time="0",
        )
        lines = [
            f"{reason.outcome.value} {reason.check.value}: {reason.message}"
            + (f" [{reason.source}:{reason.line}]" if reason.source and reason.line else "")
            for reason in (*decision.reasons, *info)
        ]
        if not decision.allowed:
            failure = ET.SubElement(
                case,
                "failure",
                message=text(decision.summary()),
                type=(decision.deciding_check or Check.INTERNAL).value,
            )
            failure.text = text("\n".join(lines))
        elif lines:
            ET.SubElement(case, "system-out").text = text("\n".join(lines))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


__all__ = [
    "CrawlSettings",
    "add_arguments",
    "decide_url",
    "inactive_notice_reasons",
    "junit_xml",
    "missing_policy_dir",
    "print_decision",
    "run",
]
