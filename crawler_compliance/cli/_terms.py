"""``crawler-compliance terms snapshot | diff | pending``: legal's terms workflow.

- ``terms snapshot URL [--out FILE]``: fetch a terms page (checked against the
  registry first, hop by hop), normalise it, print its fingerprint and the
  clauses restricting automated access; ``--out`` writes the text legal reviews.
  Exit 0 fetched, 1 not fetched or not readable (denied, unreachable, too large,
  not a page), 2 usage or policy error.
- ``terms diff RECORD_ID``: fetch a site record's terms page now and print a
  unified diff against its reviewed snapshot. Exit 0 unchanged, 1 changed or
  not fetched (a page that cannot be compared is not "unchanged"), 2 usage error.
- ``terms pending AUDIT_LOG``: the sites that discovery found with restrictive
  clauses and that legal has not reviewed yet, with the sentences as evidence.
  Exit 0 nothing pending, 1 something pending, 2 usage error.

The fetches honour ``http_proxy`` / ``https_proxy`` (and ``no_proxy``) like the
crawl, or ``--proxy``; a proxy's host is checked against the registry too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line
from crawler_compliance.terms import (
    DEFAULT_MAX_BYTES,
    DISCOVERED_EVENT,
    RestrictiveClause,
    TermsPage,
    TermsStatus,
    unified_diff,
)

__all__ = ["TermsComparison", "compare_record", "fetch_terms", "register"]


def _common(parser: argparse.ArgumentParser, *, fetches: bool = True) -> None:
    if not fetches:
        parser.add_argument(
            "--policies",
            metavar="DIR",
            help="policy directory whose terms reviews take a domain off the list "
            "(default: policies, when it exists)",
        )
        return
    parser.add_argument(
        "--policies", default="policies", metavar="DIR", help="policy directory (default: policies)"
    )
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="HTTP proxy for the fetch (default: the http_proxy / https_proxy environment)",
    )
    parser.add_argument(
        "--timeout", type=float, default=20.0, help="whole-fetch time limit, seconds (default 20)"
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help=f"largest page read, after decompression (default {DEFAULT_MAX_BYTES})",
    )
    parser.add_argument(
        "--audit-log", metavar="FILE", help="append the fetch decisions to this audit log"
    )


def register(subparsers: Any) -> None:
    terms = subparsers.add_parser(
        "terms",
        help="terms of service: snapshot a page, diff against the review, review queue",
        description="Terms-of-service pages: fetch and fingerprint (snapshot), compare a site "
        "record's page with its reviewed snapshot (diff), list what discovery flagged (pending).",
    )
    commands = terms.add_subparsers(dest="terms_command", metavar="COMMAND")
    commands.required = True

    snapshot = commands.add_parser(
        "snapshot",
        help="fetch a terms page, print its fingerprint and restrictive clauses",
        description="Fetch URL (registry-checked before each hop), normalise it and print the "
        "SHA-256 for terms.sha256 and the clauses restricting automated access. Exit 0 "
        "fetched, 1 not fetched or not readable, 2 usage or policy error.",
    )
    snapshot.add_argument("url", metavar="URL")
    snapshot.add_argument(
        "--out", metavar="FILE", help="write the normalised text (what legal reviews) here"
    )
    snapshot.add_argument("--json", action="store_true", help="print one JSON object")
    _common(snapshot)
    snapshot.set_defaults(handler=_snapshot)

    diff = commands.add_parser(
        "diff",
        help="unified diff of a site record's terms page against its reviewed snapshot",
        description="Fetch the terms page of site record RECORD_ID and diff it against "
        "terms.snapshot. Exit 0 unchanged, 1 changed or not fetched, 2 usage error.",
    )
    diff.add_argument("record_id", metavar="RECORD_ID")
    _common(diff)
    diff.set_defaults(handler=_diff)

    pending = commands.add_parser(
        "pending",
        help="sites whose discovered terms restrict automated access, not yet reviewed",
        description="Read an audit log and list the registrable domains whose terms pages "
        "discovery flagged, with the sentences as evidence, leaving out domains that now have "
        "a site record with a terms review. Exit 0 none pending, 1 some pending, 2 usage error.",
    )
    pending.add_argument("audit_log", metavar="AUDIT_LOG")
    pending.add_argument("--json", action="store_true", help="one JSON object per domain")
    _common(pending, fetches=False)
    pending.set_defaults(handler=_pending)


# --- shared by the commands and the pytest plugin ----------------------------------------


def fetch_terms(
    enforcer: Any,
    url: str,
    *,
    proxy: str | None = None,
    timeout: float = 20.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> TermsPage:
    """Fetch and read one terms page through the enforcement path.

    Each hop is decided (registry: URL and proxy) and recorded before it is
    sent, as the crawl's own fetches are; what the page says is recorded too.
    """
    from crawler_compliance._route import Route, proxy_host
    from crawler_compliance._sitefiles import FileNeed, SiteFile
    from crawler_compliance.cli._fetch import fetch_file, proxy_for

    proxy = proxy_for(url, proxy)  # --proxy, else http_proxy / https_proxy (no_proxy honoured)
    route = Route(proxy=proxy_host(proxy) if proxy else None)
    own = enforcer.open_own_fetch(SiteFile.TERMS, url)
    refused: list[str] = []

    def allow(hop: str) -> str | None:
        own.urls.add(hop)
        decision = enforcer.decide_own_fetch(hop, own, route, scrapy_safe=False)
        if decision.allowed:
            return None
        refused.append(str(decision.summary()))
        return refused[-1]

    try:
        fetched = fetch_file(
            url,
            user_agent=enforcer.identity.header,
            timeout=timeout,
            max_bytes=max_bytes,
            allow_url=allow,
            proxy=proxy,
        )
    finally:
        enforcer.close_own_fetch(own)
    if refused and fetched.error is not None and not fetched.detail:
        fetched = dataclasses.replace(fetched, detail=refused[-1])  # say why it was refused
    need = FileNeed(SiteFile.TERMS, url, ("terms", url, proxy), max_bytes)
    page: TermsPage = enforcer.store_terms(need, fetched)
    return page


@dataclass(frozen=True)
class TermsComparison:
    """A site record's terms page now, against legal's review."""

    record_id: str
    url: str
    reviewed_sha256: str | None
    reviewed_text: str | None  # the snapshot, when the record has one
    page: TermsPage

    @property
    def changed(self) -> bool:
        """True when the page was read and differs from the review."""
        return self.page.status is TermsStatus.FETCHED and self.page.sha256 != self.reviewed_sha256

    @property
    def unchanged(self) -> bool:
        return self.page.status is TermsStatus.FETCHED and self.page.sha256 == self.reviewed_sha256

    def diff(self) -> str:
        if self.reviewed_text is None or self.page.status is not TermsStatus.FETCHED:
            return ""
        return unified_diff(
            self.reviewed_text,
            self.page.text,
            reviewed_name=f"reviewed ({self.record_id})",
            current_name=f"current ({self.url})",
        )


class RecordError(LookupError):
    """The record does not exist or has nothing to compare."""


def compare_record(enforcer: Any, record_id: str, **fetch: Any) -> TermsComparison:
    """Fetch record *record_id*'s terms page and compare it with the review."""
    policy = enforcer.checker.policy
    record = next((site for site in policy.sites if site.id == record_id), None)
    if record is None:
        known = ", ".join(sorted(site.id for site in policy.sites)) or "none"
        raise RecordError(f"no site record has the id {record_id!r} (known: {known})")
    terms = record.terms
    if terms is None or terms.sha256 is None:
        raise RecordError(
            f"site record {record_id!r} has no terms.sha256 to compare with "
            f"({record.source}); run 'crawler-compliance terms snapshot URL --out FILE' first"
        )
    page = fetch_terms(enforcer, terms.url, **fetch)
    return TermsComparison(
        record_id,
        terms.url,
        terms.sha256,
        policy.terms_snapshots.get(record_id),
        page,
    )


# --- handlers ----------------------------------------------------------------------------


def _enforcer(args: argparse.Namespace) -> Any:
    """The run's enforcer (policy, registry, audit log); an int exit status on failure."""
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity
    from crawler_compliance.audit import AuditLogError
    from crawler_compliance.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.policies)
    except PolicyError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    identity = crawl_identity(
        user_agent_header=None,
        compliance_user_agent=None,
        policy_token=policy.config.crawler.product_token,
    )
    try:
        return Enforcer.from_policy(policy, identity=identity, audit_path=args.audit_log)
    except (AuditLogError, OSError) as exc:
        print_line(f"crawler-compliance terms: cannot open the audit log: {exc}", sys.stderr)
        return EXIT_USAGE


def _fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"proxy": args.proxy, "timeout": args.timeout, "max_bytes": args.max_bytes}


def _with_enforcer(args: argparse.Namespace, run: Any) -> int:
    enforcer = _enforcer(args)
    if isinstance(enforcer, int):
        return enforcer
    try:
        return int(run(enforcer))
    finally:
        enforcer.close()


def _snapshot(args: argparse.Namespace) -> int:
    def run(enforcer: Any) -> int:
        page = fetch_terms(enforcer, args.url, **_fetch_options(args))
        if args.json:
            sys.stdout.write(json.dumps(_page_json(page)) + "\n")
        else:
            _print_page(page)
        if page.status is not TermsStatus.FETCHED:
            return EXIT_DENIED
        if args.out:
            try:
                directory = os.path.dirname(args.out)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                with open(args.out, "wb") as handle:
                    handle.write(page.text.encode("utf-8"))
            except OSError as exc:
                print_line(f"crawler-compliance terms: cannot write {args.out}: {exc}", sys.stderr)
                return EXIT_USAGE
            if not args.json:
                print_line(f"wrote {args.out} (terms.snapshot; terms.sha256: {page.sha256})")
        return EXIT_OK

    return _with_enforcer(args, run)


def _page_json(page: TermsPage) -> dict[str, Any]:
    return {
        "url": page.url,
        "status": page.status.value,
        "detail": page.detail,
        "sha256": page.sha256,
        "problem": page.problem,
        "redirects": list(page.redirects),
        "clauses": [clause.to_dict() for clause in page.clauses],
    }


def _print_page(page: TermsPage) -> None:
    if page.status is not TermsStatus.FETCHED:
        print_line(f"NOT READ {page.url}: {page.problem}")
        return
    assert page.normalized is not None
    lines = page.text.count("\n")
    print_line(f"sha256 {page.sha256}  {page.url}")
    print_line(
        f"       {lines} lines of text, {page.normalized.kind.value}, "
        f"encoding {page.normalized.encoding}"
    )
    _print_clauses(page.clauses)


def _print_clauses(clauses: tuple[RestrictiveClause, ...]) -> None:
    if not clauses:
        print_line("no clause restricting automated access found (keyword matching)")
        return
    print_line(
        f"{len(clauses)} clause{'s' if len(clauses) != 1 else ''} restricting automated access "
        "(keyword matching, not legal advice):"
    )
    for clause in clauses:
        print_line(f"  - «{clause.sentence}»  [{', '.join(clause.topics)}]")


def _diff(args: argparse.Namespace) -> int:
    def run(enforcer: Any) -> int:
        try:
            comparison = compare_record(enforcer, args.record_id, **_fetch_options(args))
        except RecordError as exc:
            print_line(f"crawler-compliance terms diff: {exc}", sys.stderr)
            return EXIT_USAGE
        page = comparison.page
        if page.status is not TermsStatus.FETCHED:
            print_line(f"NOT COMPARED {comparison.url}: {page.problem}")
            return EXIT_DENIED
        if comparison.unchanged:
            print_line(f"unchanged {comparison.url} (sha256 {page.sha256})")
            return EXIT_OK
        print_line(
            f"CHANGED {comparison.url}: reviewed sha256 {comparison.reviewed_sha256}, "
            f"now {page.sha256}"
        )
        text = comparison.diff()
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            print_line("(no terms.snapshot in the record: the reviewed text cannot be shown)")
        return EXIT_DENIED

    return _with_enforcer(args, run)


def _reviewed_domains(policy: Any) -> set[str]:
    """Registrable domains (and record domains) legal has reviewed terms for."""
    reviewed: set[str] = set()
    for site in policy.sites:
        if site.terms is not None and site.terms.verdict is not None:
            reviewed.update(str(domain).lower() for domain in site.domains)
    return reviewed


def _covered(domain: str, reviewed: set[str]) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in reviewed for i in range(len(labels)))


def pending_findings(records: Iterable[dict[str, Any]], reviewed: set[str]) -> list[dict[str, Any]]:
    """Flagged discoveries by registrable domain, newest evidence last, reviewed ones left out."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        reasons = record.get("reasons")
        if not isinstance(reasons, list):
            continue
        for reason in reasons:
            if not isinstance(reason, dict) or reason.get("event") != DISCOVERED_EVENT:
                continue
            evidence = reason.get("evidence")
            if not isinstance(evidence, list) or not evidence:
                continue
            domain = reason.get("site") or record.get("registrable_domain") or record.get("host")
            if not isinstance(domain, str):
                continue
            domain = domain.lower()
            if _covered(domain, reviewed):
                continue
            entry = found.setdefault(
                domain, {"domain": domain, "terms_url": None, "evidence": [], "first_seen": None}
            )
            entry["terms_url"] = reason.get("terms_url")
            entry["terms_sha256"] = reason.get("terms_sha256")
            entry["first_seen"] = entry["first_seen"] or record.get("ts")
            entry["last_seen"] = record.get("ts")
            entry["topics"] = reason.get("topics") or []
            for sentence in evidence:
                if isinstance(sentence, str) and sentence not in entry["evidence"]:
                    entry["evidence"].append(sentence)
    return [found[domain] for domain in sorted(found)]


def _pending(args: argparse.Namespace) -> int:
    from crawler_compliance.audit import iter_records

    reviewed: set[str] = set()
    directory = args.policies
    if directory is None and os.path.isdir("policies"):
        directory = "policies"
    if directory is not None:
        from crawler_compliance.policy import PolicyError, load_policy

        try:
            reviewed = _reviewed_domains(load_policy(directory))
        except PolicyError as exc:
            sys.stderr.write(f"{exc}\n")
            return EXIT_USAGE
    try:
        findings = pending_findings(iter_records(args.audit_log), reviewed)
    except OSError as exc:
        print_line(
            f"crawler-compliance terms pending: cannot read {args.audit_log}: "
            f"{exc.strerror or exc}",
            sys.stderr,
        )
        return EXIT_USAGE
    for entry in findings:
        if args.json:
            sys.stdout.write(json.dumps(entry) + "\n")
            continue
        print_line(
            f"{entry['domain']}  terms: {entry['terms_url']}  (first seen {entry['first_seen']})"
        )
        for sentence in entry["evidence"]:
            print_line(f"  - «{sentence}»")
    if not findings and not args.json:
        print_line("nothing pending: no unreviewed site with restrictive terms in this log")
    return EXIT_DENIED if findings else EXIT_OK
