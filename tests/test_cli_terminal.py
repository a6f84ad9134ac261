"""Hole 8: ``spiders``, ``validate`` and ``check`` never print a terminal escape sequence.

Spider names, policy file names and directory names are text from outside;
printed raw, ``ESC [ 2 J`` clears the screen and a bidi override reorders
what a reviewer reads. They are shown as backslash escapes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crawler_compliance.cli import main

REPO = Path(__file__).resolve().parents[1]
ESCAPE = "\x1b[2J\x1b]0;pwned\x07"
BIDI = "\u202e"
NASTY = ESCAPE + BIDI + "\r"


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def clean(text: str) -> bool:
    return "\x1b" not in text and "\x07" not in text and BIDI not in text and "\r" not in text


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / f"pol{NASTY}icies"
    shutil.copytree(REPO / "policies", directory)
    return directory


def test_validate_escapes_file_and_directory_names(capsys, policies: Path) -> None:
    code, text = run(capsys, "validate", str(policies))
    assert code == 0 and clean(text) and "\\x1b" in text
    (policies / "sites" / f"bad{NASTY}.yaml").write_text(f"id: x\ndomains: ['{ESCAPE}']\n")
    code, text = run(capsys, "validate", str(policies))
    assert code == 1 and clean(text) and "\\x1b" in text
    code, text = run(capsys, "validate", str(policies / f"missing{NASTY}"))
    assert code == 2 and clean(text)


def test_check_escapes_urls_and_policy_paths(capsys, policies: Path) -> None:
    code, text = run(
        capsys, "check", "--offline", "--policies", str(policies), f"https://example.org/{NASTY}"
    )
    assert clean(text)
    code, text = run(
        capsys, "check", "--offline", "--policies", str(policies / f"no{NASTY}"), "https://a.b/"
    )
    assert code == 2 and clean(text)


def test_spiders_escapes_spider_names(capsys, tmp_path: Path, monkeypatch) -> None:
    # Scrapy's get_project_settings() keeps the first project's settings module
    # in the environment: another test's project must not be read instead.
    monkeypatch.delenv("SCRAPY_SETTINGS_MODULE", raising=False)
    project = tmp_path / "evilproj"
    (project / "evilproj" / "spiders").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = evilproj.settings\n")
    (project / "evilproj" / "__init__.py").write_text("")
    (project / "evilproj" / "settings.py").write_text("SPIDER_MODULES = ['evilproj.spiders']\n")
    (project / "evilproj" / "spiders" / "__init__.py").write_text(
        "import scrapy\n\n"
        "class Evil(scrapy.Spider):\n"
        f"    name = {NASTY!r}\n"
        "    start_urls = ['https://example.org/']\n"
    )
    code, text = run(capsys, "spiders", str(project), "--policies", str(REPO / "policies"))
    assert code == 0 and clean(text) and "\\x1b[2J" in text
    code, text = run(
        capsys, "spiders", str(project), "--json", "--policies", str(REPO / "policies")
    )
    assert code == 0 and clean(text)
