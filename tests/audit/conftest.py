from __future__ import annotations

from pathlib import Path

import pytest

from crawler_compliance import cli


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "audit.jsonl"


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``crawler-compliance`` through ``cli.main``; return (code, stdout, stderr).

    Only the audit command family is assembled, so these tests do not depend on
    the other command modules, which live elsewhere in the tree.
    """
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("crawler_compliance.cli._audit",))

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
