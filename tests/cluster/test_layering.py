"""The cluster adapter is optional: nothing else needs redis, psycopg or scrapy-redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
for name in ("redis", "psycopg", "scrapy_redis"):
    sys.modules[name] = None  # importing it now raises ImportError
import crawler_compliance
import crawler_compliance.scrapy._middleware
from crawler_compliance.cli import build_parser, main
build_parser()
assert main(["validate", "policies"]) == 0
loaded = sorted(m for m in sys.modules if m.startswith("crawler_compliance.cluster"))
print(loaded)
"""


def test_core_scrapy_adapter_and_cli_load_without_the_cluster_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The CLI registers its --dsn options from cli._cluster, which imports no driver.
    assert result.stdout.strip().splitlines()[-1] == "[]"
