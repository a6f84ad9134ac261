"""Drive Debian's headless chromium with the standard library: DOM, console, screenshot.

The browser is kept on loopback: its proxy points at a closed local port and
every host name resolves to nothing, so a page that tried to load anything
from the network would fail (and show it) rather than reach out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """The chromium binary; skip without it, but FAIL when ``CI`` is set."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path:
        return path
    message = "chromium is not installed (run tools/ensure-chromium.sh)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render(page: Path, out_dir: Path) -> tuple[str, list[str], Path]:
    """(the DOM after load, the console messages, the screenshot file)."""
    profile = out_dir / "chromium-profile"
    dump = _run(page, profile, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    screenshot = out_dir / f"{page.stem}.png"
    shot = _run(page, profile, "--window-size=1240,1754", f"--screenshot={screenshot}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    console = [
        line for result in (dump, shot) for line in result.stderr.splitlines() if ":CONSOLE" in line
    ]
    return dump.stdout, console, screenshot


def print_pdf(page: Path, out_dir: Path) -> Path:
    """The page printed to PDF as a browser's "Print" does (no header or footer)."""
    pdf = out_dir / f"{page.stem}.pdf"
    result = _run(
        page, out_dir / "chromium-profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}"
    )
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    return pdf
