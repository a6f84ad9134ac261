"""``crawler-compliance robots FILE URL... --user-agent UA [--json]`` through cli.main."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler_compliance import cli

ROBOTS = (
    b"User-agent: *\nDisallow: /private\n\nUser-agent: MyBot\nAllow: /private/ok\n"
    b"Disallow: /private\n"
)


@pytest.fixture
def main() -> Callable[[list[str]], int]:
    """The shipped ``crawler-compliance`` entry point, every command family assembled."""
    return cli.main


@pytest.fixture
def robots_file(tmp_path: Path) -> Path:
    path = tmp_path / "robots.txt"
    path.write_bytes(ROBOTS)
    return path


def test_text_output_and_exit_code_for_a_denial(main, robots_file, capsys) -> None:
    code = main(
        [
            "robots",
            str(robots_file),
            "https://e.com/private/x",
            "https://e.com/open",
            "--user-agent",
            "OtherBot/2.0",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("deny  https://e.com/private/x")
    assert f"{robots_file}:2: Disallow: /private" in out[0] and "[group: *]" in out[0]
    assert out[1].startswith("allow https://e.com/open") and "no rule" in out[1]


def test_all_allowed_exits_0(main, robots_file, capsys) -> None:
    code = main(["robots", str(robots_file), "/private/ok/1", "/x", "--user-agent", "mybot"])
    assert code == 0
    out = capsys.readouterr().out
    assert ":5: Allow: /private/ok" in out and "[group: MyBot]" in out


def test_json_lines(main, robots_file, capsys) -> None:
    urls = ["https://e.com/private/x?a=1#f", "/private/ok", "https://e.com/robots.txt"]
    code = main(["robots", str(robots_file), *urls, "--user-agent", "MyBot", "--json"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [r["url"] for r in records] == urls  # exactly as given
    assert records[0] | {"reason": ""} == {
        "url": urls[0],
        "verdict": "deny",
        "line": 6,
        "rule": "Disallow: /private",
        "group": ["MyBot"],
        "reason": "",
    }
    assert (records[1]["verdict"], records[1]["line"]) == ("allow", 5)
    assert (records[2]["verdict"], records[2]["line"], records[2]["group"]) == ("allow", None, None)


def test_unreadable_file_exits_2(main, tmp_path, capsys) -> None:
    code = main(["robots", str(tmp_path / "missing.txt"), "/x", "--user-agent", "b"])
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_missing_user_agent_is_a_usage_error(main, robots_file, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["robots", str(robots_file), "/x"])
    assert exited.value.code == 2
    assert "--user-agent" in capsys.readouterr().err


def test_binary_file_is_disallow_all_with_the_reason(main, tmp_path, capsys) -> None:
    path = tmp_path / "robots.bin"
    path.write_bytes(bytes(range(256)) * 20)
    code = main(["robots", str(path), "/x", "--user-agent", "b", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["verdict"] == "deny"
    assert "not text" in captured.err
