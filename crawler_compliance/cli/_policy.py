"""``crawler-compliance validate`` and ``crawler-compliance schema``.

``validate [DIR]`` exits 0 and prints a one-line summary when the policy
directory is valid, exits 1 and prints every located error (one per line,
``path:line:col: field.path: message``, then a count) when it is not, and exits
2 when ``DIR`` does not exist. ``schema [--kind ...]`` prints the JSON Schema.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from crawler_compliance.cli import EXIT_DENIED as EXIT_INVALID
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line
from crawler_compliance.policy import PolicyError, load_policy, policy_json_schema

DEFAULT_POLICY_DIR = "policies/"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _validate(args: argparse.Namespace) -> int:
    directory: str = args.directory
    if not os.path.isdir(directory):
        what = "does not exist" if not os.path.exists(directory) else "is not a directory"
        print_line(f"crawler-compliance validate: {directory}: {what}", sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        # File names and YAML values are the policy's text: escaped, one issue a line.
        for issue in exc.issues:
            print_line(str(issue))
        errors = _plural(len(exc.issues), "error")
        files = _plural(len({issue.path for issue in exc.issues}), "file")
        print_line(f"{directory}: invalid ({errors} in {files})")
        return EXIT_INVALID
    print_line(
        f"{directory}: valid ({_plural(len(policy.notices), 'notice')}, "
        f"{_plural(len(policy.sites), 'site record')})"
    )
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(policy_json_schema(args.kind), indent=2, ensure_ascii=False))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` and ``schema`` commands."""
    validate = subparsers.add_parser(
        "validate",
        help="check a policy directory; print every error with its file, line and column",
        description="Validate policy.yaml, notices/*.yaml and sites/*.yaml. Exit status: 0 "
        "valid, 1 invalid (every error printed as path:line:col: field: message), 2 the "
        "directory does not exist.",
    )
    validate.add_argument(
        "directory",
        nargs="?",
        default=DEFAULT_POLICY_DIR,
        metavar="DIR",
        help=f"policy directory (default: {DEFAULT_POLICY_DIR})",
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
