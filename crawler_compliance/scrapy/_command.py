"""``scrapy compliance check URL...`` and ``scrapy compliance spiders``.

Registered through the ``scrapy.commands`` entry point, so it is available in
every project where crawler-compliance is installed. It runs the same code
as ``crawler-compliance check`` / ``spiders``, with the project's own
settings (``-s NAME=VALUE`` included): the policy directory, the User-Agent and
``COMPLIANCE_USER_AGENT``, the purpose, the suffix list.
"""

from __future__ import annotations

import argparse
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError


class ComplianceCommand(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "check [options] URL... | spiders [options]"

    def short_desc(self) -> str:
        return "Check URLs or this project's spiders against crawler-compliance's policy"

    def long_desc(self) -> str:
        return (
            "'check URL...' decides URLs as a crawl of this project would (exit 0 all "
            "allowed, 1 any denied, 2 usage or policy error); 'spiders' decides every "
            "spider's start_urls, allowed_domains and start() requests offline (exit 1 "
            "when any is denied or a spider is unchecked)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        from crawler_compliance.cli._check import add_arguments
        from crawler_compliance.cli._spiders import _positive
        from crawler_compliance.scrapy._spiders import (
            DEFAULT_MAX_START_REQUESTS,
            DEFAULT_START_TIMEOUT,
        )

        super().add_options(parser)
        group = parser.add_argument_group("crawler-compliance")
        add_arguments(group)  # type: ignore[arg-type]
        group.add_argument("--allow-unchecked", action="store_true", help="spiders: see above")
        group.add_argument("--start-timeout", type=_positive(float), default=DEFAULT_START_TIMEOUT)
        group.add_argument(
            "--max-start-requests", type=_positive(int), default=DEFAULT_MAX_START_REQUESTS
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler_compliance.cli._check import run as run_check
        from crawler_compliance.cli._spiders import run_spiders
        from crawler_compliance.scrapy._spiders import find_project_root

        if not args or args[0] not in ("check", "spiders"):
            raise UsageError("expected 'check URL...' or 'spiders'")
        command, rest = args[0], args[1:]
        root = find_project_root()
        settings: Any = self.settings
        namespace = argparse.Namespace(**vars(opts))
        if command == "check":
            namespace.urls = rest
            self.exitcode = run_check(namespace, settings, root)
            return
        if rest:
            raise UsageError("'spiders' takes no arguments: it checks this project")
        namespace.json = bool(namespace.json_alias or namespace.format == "json")
        self.exitcode = run_spiders(namespace, settings, root)


__all__ = ["ComplianceCommand"]
