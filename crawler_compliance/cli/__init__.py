"""``crawler-compliance`` command line.

Exit codes are stable and documented: 0 allowed / valid / intact,
1 denied / invalid / tampered, 2 usage or policy error.

Each command family lives in a module of this package exposing
``register(subparsers)`` ;
this module only assembles them and defines the exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2

_COMMAND_MODULES = (
    "crawler_compliance.cli._policy",  # validate, schema
    "crawler_compliance.cli._check",  # check
    "crawler_compliance.cli._spiders",  # spiders
    "crawler_compliance.cli._robots",  # robots
    "crawler_compliance.cli._audit",  # audit verify / show / report
    "crawler_compliance.cli._notices",  # notices list / show / new / check
    "crawler_compliance.cli._cluster",  # audit init / export, --dsn (after _audit); cluster
    "crawler_compliance.cli._terms",  # terms snapshot / diff / pending
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(
        prog="crawler-compliance",
        description="Check URLs against cease-and-desist notices, site policy and robots.txt; "
        "validate policy files; verify audit logs.",
    )
    from crawler_compliance._version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in _COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
