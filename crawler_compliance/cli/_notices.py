"""``crawler-compliance notices list | show ID | new | check``: the notices' lifecycle.

Exit codes: 0 done / every active notice denies; 1 ``check`` found an entry
that does not deny; 2 usage or policy error (``show`` of an unknown id, ``new``
over an existing file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from crawler_compliance.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line, write


def register(subparsers: Any) -> None:
    notices = subparsers.add_parser(
        "notices",
        help="list, show, create and self-check cease-and-desist notices",
        description="Work with the notices of a policy directory (notices/*.yaml).",
    )
    commands = notices.add_subparsers(dest="notices_command", metavar="SUBCOMMAND")
    commands.required = True

    def policies(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--policies", default="policies", metavar="DIR", help="policy directory"
        )

    listing = commands.add_parser(
        "list", help="id, issuer, status, in force today, scope sizes of every notice"
    )
    policies(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per notice")
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", help="everything one notice says, and its file")
    show.add_argument("id", metavar="ID")
    policies(show)
    show.set_defaults(handler=_show)

    new = commands.add_parser(
        "new",
        help="write a template notice that validates",
        description="Write notices/ID.yaml (or --output FILE, '-' for stdout) with the "
        "given issuer and domains, received today, status active: edit it, then run "
        "'crawler-compliance validate'.",
    )
    new.add_argument("--issuer", required=True, help="who sent the notice, e.g. 'Acme Inc.'")
    new.add_argument(
        "--domain",
        action="append",
        required=True,
        metavar="DOMAIN",
        help="a domain the notice covers (repeat for more); covers its subdomains",
    )
    new.add_argument("--id", help="notice id (default: from the issuer and this month)")
    new.add_argument("--parent", help="the issuer's parent company")
    new.add_argument("--received", help="date received, YYYY-MM-DD (default: today)")
    new.add_argument("--output", metavar="FILE", help="where to write ('-' for stdout)")
    policies(new)
    new.set_defaults(handler=_new)

    check = commands.add_parser(
        "check",
        help="verify that every active notice's domains, brands and addresses deny",
        description="Decide one URL for every domain, brand and address of every notice in "
        "force today; exit 1 naming each entry (file and line) that its notice does not "
        "deny.",
    )
    policies(check)
    check.set_defaults(handler=_check)


def _load(directory: str) -> Any:
    from crawler_compliance.policy import PolicyError, load_policy

    if not os.path.isdir(directory):
        print_line(
            f"crawler-compliance notices: the policy directory {os.path.abspath(directory)} "
            "does not exist",
            sys.stderr,
        )
        return None
    try:
        return load_policy(directory)
    except PolicyError as exc:
        sys.stderr.write(f"{exc}\n")
        return None


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _list(args: argparse.Namespace) -> int:
    from crawler_compliance._notices import notice_state, scope_sizes

    policy = _load(args.policies)
    if policy is None:
        return EXIT_USAGE
    today = _today()
    row = "{:<32} {:<28} {:<11} {:<24} {:>7} {:>6} {:>9}"
    if not args.json:
        print_line(
            row.format("ID", "ISSUER", "STATUS", "IN FORCE TODAY", "DOMAINS", "BRANDS", "ADDRESSES")
        )
    for notice in policy.notices:
        domains, brands, addresses = scope_sizes(notice)
        state = notice_state(notice, today)
        if args.json:
            write(
                json.dumps(
                    {
                        "id": notice.id,
                        "issuer": notice.issuer.name,
                        "status": notice.status,
                        "in_force": notice.is_active(today),
                        "state": state,
                        "domains": domains,
                        "brands": brands,
                        "addresses": addresses,
                        "file": str(notice.source),
                    }
                )
                + "\n"
            )
            continue
        in_force = "yes" if notice.is_active(today) else f"no: {state}"
        print_line(
            row.format(
                notice.id,
                notice.issuer.name[:28],
                notice.status,
                in_force[:24],
                domains,
                brands,
                addresses,
            )
        )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from crawler_compliance._notices import notice_state

    policy = _load(args.policies)
    if policy is None:
        return EXIT_USAGE
    notice = next((n for n in policy.notices if n.id == args.id), None)
    if notice is None:
        known = ", ".join(n.id for n in policy.notices) or "none"
        print_line(
            f"crawler-compliance notices: no notice {args.id!r} (known: {known})", sys.stderr
        )
        return EXIT_USAGE
    today = _today()
    print_line(f"notice {notice.id}  ({notice.source})")
    issuer = notice.issuer.name + (
        f" (parent: {notice.issuer.parent})" if notice.issuer.parent else ""
    )
    print_line(f"  issuer:     {issuer}")
    print_line(f"  received:   {notice.received}")
    print_line(f"  effective:  {notice.effective_date}")
    print_line(f"  expires:    {notice.expires or 'never'}")
    print_line(
        f"  status:     {notice.status}"
        + (f" (by {notice.superseded_by})" if notice.superseded_by else "")
    )
    print_line(
        "  in force:   "
        + ("yes" if notice.is_active(today) else "no: " + notice_state(notice, today))
    )
    if notice.demands:
        print_line(f"  demands:    {', '.join(notice.demands)}")
    for index, scope in enumerate(notice.scopes):
        print_line(f"  scope {scope.label!r} ({scope.kind}):")
        for name in ("domains", "brands", "addresses"):
            values = getattr(scope, name)
            for i, value in enumerate(values):
                line = notice.line_of("scopes", index, name, i)
                print_line(f"    {name[:-1]:<8} {value}  [line {line}]")
    for reference in notice.references:
        extra = " ".join(str(x) for x in (reference.date, reference.url) if x)
        print_line(f"  reference:  {reference.title}" + (f" ({extra})" if extra else ""))
    if notice.notes:
        print_line("  notes:      " + " ".join(notice.notes.split()))
    return EXIT_OK


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "notice"


def _yaml_string(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(value, ensure_ascii=False)


def notice_template(
    *, notice_id: str, issuer: str, parent: str | None, domains: list[str], received: str
) -> str:
    lines = [
        f"# Cease-and-desist notice from {' '.join(issuer.split())}. Fill in what the letter says;",
        "# every field is documented by `crawler-compliance schema --kind notice`.",
        f"id: {notice_id}",
        "issuer:",
        f"  name: {_yaml_string(issuer)}",
    ]
    if parent:
        lines.append(f"  parent: {_yaml_string(parent)}")
    lines += [
        f"received: {received}",
        "status: active",
        "demands:",
        "  - stop-collection",
        "scopes:",
        f"  - label: {_yaml_string(issuer)}",
        "    kind: named-service",
        "    domains:",
        *(f"      - {_yaml_string(domain)}" for domain in domains),
        "references:",
        f"  - title: {_yaml_string('Letter from ' + issuer)}",
        f"    date: {received}",
        "notes: >-",
        "  Describe the letter here, and say what could not be confirmed.",
    ]
    return "\n".join(lines) + "\n"


def _new(args: argparse.Namespace) -> int:
    from crawler_compliance.policy import validate_file

    received = args.received or _today().isoformat()
    notice_id = args.id or f"{_slug(args.issuer)}-{received[:7]}"
    text = notice_template(
        notice_id=notice_id,
        issuer=args.issuer,
        parent=args.parent,
        domains=args.domain,
        received=received,
    )
    # The template must validate: check it before writing anything.
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / f"{notice_id}.yaml"
        probe.write_text(text, encoding="utf-8")
        _, issues = validate_file(probe, "notice")
    if issues:
        for issue in issues:
            print_line(str(issue).replace(str(probe), "(template)"), sys.stderr)
        print_line("crawler-compliance notices new: fix the arguments above", sys.stderr)
        return EXIT_USAGE
    output = args.output or os.path.join(args.policies, "notices", f"{notice_id}.yaml")
    if output == "-":
        write(text)
        return EXIT_OK
    target = Path(output)
    if target.exists():
        print_line(f"crawler-compliance notices new: {target} exists; not overwritten", sys.stderr)
        return EXIT_USAGE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        print_line(f"crawler-compliance notices new: cannot write {target}: {exc}", sys.stderr)
        return EXIT_USAGE
    print_line(f"wrote {target}: edit it, then run 'crawler-compliance validate {args.policies}'")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from crawler_compliance._checker import ComplianceChecker
    from crawler_compliance._notices import notices_that_do_not_deny

    policy = _load(args.policies)
    if policy is None:
        return EXIT_USAGE
    checker = ComplianceChecker(policy)
    problems = notices_that_do_not_deny(checker)
    for problem in problems:
        print_line(str(problem))
    active = [n for n in policy.notices if n.is_active(_today())]
    if problems:
        print_line(
            f"{len(problems)} entr{'y' if len(problems) == 1 else 'ies'} of active notices "
            "do not deny"
        )
        return EXIT_DENIED
    print_line(f"OK: every entry of the {len(active)} notice(s) in force today denies")
    return EXIT_OK
