from __future__ import annotations

from pathlib import Path

import pytest

from crawler_compliance import cli


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "audit.jsonl"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run the shipped ``crawler-compliance`` (``cli.main``); return (code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
