"""Check a Scrapy project's spiders against the policy, without crawling.

Each spider's ``start_urls`` and ``allowed_domains`` are decided offline
(registry and site records): a spider that starts on, or is allowed to
wander into, a domain under a cease-and-desist notice fails CI before it
ever runs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler_compliance._decision import Decision


@dataclass(frozen=True)
class SpiderFinding:
    spider: str
    source: str  # "start_urls" or "allowed_domains"
    decision: Decision

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


def _spider_classes(project_dir: str) -> list[type]:
    from scrapy.spiderloader import get_spider_loader
    from scrapy.utils.project import get_project_settings

    project = Path(project_dir).resolve()
    if not (project / "scrapy.cfg").is_file():
        raise FileNotFoundError(f"{project}: no scrapy.cfg, not a Scrapy project directory")
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(project))
    try:
        os.chdir(project)
        settings = get_project_settings()
        loader = get_spider_loader(settings)
        return [loader.load(name) for name in sorted(loader.list())]
    finally:
        os.chdir(previous_cwd)
        sys.path.remove(str(project))


def check_project_spiders(checker: Any, project_dir: str = ".") -> list[SpiderFinding]:
    """Decide every start URL and allowed domain of every spider in the project."""
    findings = []
    for spider_cls in _spider_classes(project_dir):
        name = getattr(spider_cls, "name", spider_cls.__name__)
        for url in getattr(spider_cls, "start_urls", ()) or ():
            findings.append(
                SpiderFinding(name, "start_urls", checker.decide(url, None, offline=True))
            )
        for domain in getattr(spider_cls, "allowed_domains", ()) or ():
            url = f"https://{domain}/"
            findings.append(
                SpiderFinding(name, "allowed_domains", checker.decide(url, None, offline=True))
            )
    return findings
