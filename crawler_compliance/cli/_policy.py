"""``crawler-compliance validate`` and ``crawler-compliance schema``.

``validate [PATH...]`` (directories or single files) exits 0 and prints a
one-line summary when the policy
directory is valid, exits 1 and prints every located error (one per line,
``path:line:col: field.path: message``, then a count) when it is not, and exits
2 when ``DIR`` does not exist. ``schema [--kind ...]`` prints the JSON Schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from crawler_compliance.cli import EXIT_DENIED as EXIT_INVALID
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line
from crawler_compliance.policy import PolicyError, load_policy, policy_json_schema, validate_file
from crawler_compliance.policy._load import YAML_SUFFIXES

DEFAULT_POLICY_DIR = "policies/"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _warn(message: str) -> None:
    print_line(f"warning: {message}", sys.stderr)


def unread_files(directory: Path) -> list[str]:
    """Warnings for files in a policy directory that loading will not read."""
    warnings = []
    try:
        top = sorted(directory.iterdir())
    except OSError:
        return []
    for entry in top:
        name = entry.name
        if name in ("policy.yaml", "notices", "sites") or name.startswith("."):
            continue
        if entry.is_file() and name.lower().endswith(YAML_SUFFIXES):
            warnings.append(
                f"{entry}: not read: only policy.yaml, notices/*.yaml and sites/*.yaml are "
                "(move a notice into notices/, a site record into sites/)"
            )
    for sub in ("notices", "sites"):
        folder = directory / sub
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            name = entry.name
            if entry.is_dir():
                warnings.append(
                    f"{entry}: not read: folders inside {sub}/ are not read "
                    f"(put each file directly in {sub}/)"
                )
            elif name.startswith("."):
                if name.lower().endswith(YAML_SUFFIXES):
                    warnings.append(f"{entry}: not read: hidden files (leading '.') are skipped")
            elif name.lower().endswith(YAML_SUFFIXES) and not name.endswith(YAML_SUFFIXES):
                warnings.append(
                    f"{entry}: not read: the suffix must be .yaml or .yml in lower case"
                )
            elif not name.endswith(YAML_SUFFIXES):
                warnings.append(f"{entry}: not read: not a .yaml or .yml file")
    return warnings


def inactive_notices(policy: Any, today: dt.date) -> list[str]:
    """Warnings for notices that are not in force today (they deny nothing)."""
    from crawler_compliance._notices import notice_state

    warnings = []
    for notice in policy.notices:
        if notice.is_active(today):
            continue
        warnings.append(
            f"{notice.source}: notice {notice.id!r} is not in force today "
            f"({notice_state(notice, today)}): it denies nothing"
        )
    return warnings


def _policy_dir_of(path: Path) -> Path | None:
    """The policy directory a file belongs to, when it sits where loading reads it."""
    if path.name == "policy.yaml":
        return path.parent
    parent = path.parent
    if (
        parent.name in ("notices", "sites")
        and (parent.parent / "policy.yaml").is_file()
        and path.name.endswith(YAML_SUFFIXES)
        and not path.name.startswith(".")
    ):
        return parent.parent
    return None


def _kind_of(path: Path) -> str:
    if path.name == "policy.yaml":
        return "policy"
    if path.parent.name == "sites":
        return "site"
    if path.parent.name == "notices":
        return "notice"
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:65536]
    except OSError:
        return "notice"
    if "\ncrawler:" in "\n" + head:
        return "policy"
    return "notice" if "\nissuer:" in "\n" + head else "site"


def _validate_directory(directory: Path, display: str, today: dt.date) -> bool:
    for warning in unread_files(directory):
        _warn(warning)
    try:
        policy = load_policy(display)
    except PolicyError as exc:
        for issue in exc.issues:
            print_line(str(issue))
        errors = _plural(len(exc.issues), "error")
        files = _plural(len({issue.path for issue in exc.issues}), "file")
        print_line(f"{display}: invalid ({errors} in {files})")
        return False
    for warning in inactive_notices(policy, today):
        _warn(warning)
    print_line(
        f"{display}: valid ({_plural(len(policy.notices), 'notice')}, "
        f"{_plural(len(policy.sites), 'site record')})"
    )
    return True


def _validate_file(path: Path, display: str, today: dt.date) -> bool:
    kind = _kind_of(path)
    name = path.name
    if not name.lower().endswith(YAML_SUFFIXES):
        _warn(f"{display}: not a policy file (not .yaml / .yml): not read, not checked")
        return True
    if path.parent.name in ("notices", "sites") and not (
        name.endswith(YAML_SUFFIXES) and not name.startswith(".")
    ):
        _warn(
            f"{display}: a crawl will not read this file (only .yaml / .yml files directly "
            f"in {path.parent.name}/ are read); checked on its own as a {kind} file"
        )
    model, issues = validate_file(display, kind)
    for issue in issues:
        print_line(str(issue))
    if issues:
        print_line(f"{display}: invalid ({_plural(len(issues), 'error')})")
        return False
    if kind == "notice" and model is not None and not model.is_active(today):
        from crawler_compliance._notices import notice_state

        _warn(
            f"{model.source}: notice {model.id!r} is not in force today "
            f"({notice_state(model, today)}): it denies nothing"
        )
    print_line(f"{display}: valid {kind} file (checked alone: ids are compared across a directory)")
    return True


def _validate(args: argparse.Namespace) -> int:
    today = dt.datetime.now(dt.timezone.utc).date()
    ok = True
    done: set[Path] = set()
    for given in args.paths or [DEFAULT_POLICY_DIR]:
        path = Path(given)
        if not path.exists():
            print_line(
                f"crawler-compliance validate: {os.path.abspath(given)}: does not exist", sys.stderr
            )
            return EXIT_USAGE
        if path.is_dir():
            if path.resolve() not in done:
                done.add(path.resolve())
                ok = _validate_directory(path, given, today) and ok
            continue
        directory = _policy_dir_of(path)
        if directory is not None:
            # A file of a policy directory: check it with its directory, so ids,
            # superseded_by targets and domains are compared across files.
            if directory.resolve() not in done:
                done.add(directory.resolve())
                ok = _validate_directory(directory, os.fspath(directory), today) and ok
            continue
        ok = _validate_file(path, given, today) and ok
    return EXIT_OK if ok else EXIT_INVALID


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(policy_json_schema(args.kind), indent=2, ensure_ascii=False))
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add the ``validate`` and ``schema`` commands."""
    validate = subparsers.add_parser(
        "validate",
        help="check policy directories or files; print every error with its file, line and column",
        description="Validate policy.yaml, notices/*.yaml and sites/*.yaml (directories or "
        "single files). Every problem of every file is printed as path:line:col: field: "
        "message; warnings (files that will not be read, notices not in force today) go to "
        "stderr and do not change the exit status. Exit status: 0 valid, 1 invalid, 2 a "
        "path does not exist.",
    )
    validate.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"policy directories or single policy files (default: {DEFAULT_POLICY_DIR}); a "
        "file inside a policy directory is checked with its directory",
    )
    validate.set_defaults(handler=_validate)

    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of the policy files, for editor completion",
        description="Print the JSON Schema (draft 2020-12) of one kind of policy file, or of "
        "all three keyed by kind.",
    )
    schema.add_argument(
        "--kind",
        choices=("policy", "notice", "site", "all"),
        default="all",
        help="policy.yaml, a notices/*.yaml file, a sites/*.yaml file, or all three "
        "(default: all, as one JSON object keyed by kind)",
    )
    schema.set_defaults(handler=_schema)
