"""``crawler-compliance spiders``: start() and start_requests() decided with the network refused."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import pytest

from crawler_compliance.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"


def make_project(root: Path, spiders: str, settings: str = "") -> Path:
    package = root / "proj"
    (package / "spiders").mkdir(parents=True)
    (root / "scrapy.cfg").write_text("[settings]\ndefault = proj.settings\n")
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "SPIDER_MODULES = ['proj.spiders']\n" + textwrap.dedent(settings)
    )
    (package / "spiders" / "__init__.py").write_text(
        "import scrapy, socket, time\n\n" + textwrap.dedent(spiders)
    )
    return root


def run(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["spiders", *args, "--json"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


SPIDERS = """
class Sneaky(scrapy.Spider):
    name = 'sneaky'
    async def start(self):
        yield {'an item': 'is not a request'}
        yield scrapy.Request('https://www.youtube.com/watch?v=1')
        yield scrapy.Request('https://example.org/')

class Legacy(scrapy.Spider):
    name = 'legacy'
    def start_requests(self):
        yield scrapy.Request('https://twitter.com/home')

class Plain(scrapy.Spider):
    name = 'plain'
    start_urls = ['https://example.org/a']
"""


def test_requests_yielded_by_start_and_start_requests_are_decided(capsys, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SPIDERS)
    code, rows, _ = run(capsys, str(project), "--policies", str(POLICIES))
    assert code == 1
    decided = {(r["spider"], r["source"], r["url"]): r["verdict"] for r in rows}
    assert decided == {
        ("sneaky", "start()", "https://www.youtube.com/watch?v=1"): "deny",
        ("sneaky", "start()", "https://example.org/"): "allow",
        ("legacy", "start_requests()", "https://twitter.com/home"): "deny",
        ("plain", "start_urls", "https://example.org/a"): "allow",
    }
    youtube = next(r for r in rows if r["url"].startswith("https://www.youtube.com"))
    assert youtube["reasons"][0]["rule"] == "google-youtube-2020-02"
    assert youtube["defined_at"].endswith("spiders/__init__.py:4")


UNCHECKABLE = """
class Boom(scrapy.Spider):
    name = 'boom'
    async def start(self):
        raise RuntimeError('needs a database')
        yield

class Online(scrapy.Spider):
    name = 'online'
    async def start(self):
        socket.create_connection(('127.0.0.1', 9))
        yield scrapy.Request('https://example.org/')

class Lookup(scrapy.Spider):
    name = 'lookup'
    async def start(self):
        try:
            socket.getaddrinfo('example.org', 443)
        except OSError:
            pass
        yield scrapy.Request('https://example.org/')

class Forever(scrapy.Spider):
    name = 'forever'
    async def start(self):
        n = 0
        while True:
            n += 1
            yield scrapy.Request(f'https://example.org/{n}')

class Blocks(scrapy.Spider):
    name = 'blocks'
    def start_requests(self):
        time.sleep(30)
        yield scrapy.Request('https://www.youtube.com/')

class NeedsArgs(scrapy.Spider):
    name = 'needsargs'
    def __init__(self, category, *args, **kwargs):
        super().__init__(*args, **kwargs)
    async def start(self):
        yield scrapy.Request('https://example.org/')

class Fine(scrapy.Spider):
    name = 'fine'
    async def start(self):
        yield scrapy.Request('https://example.org/fine')
"""


def test_a_start_that_cannot_be_evaluated_is_unchecked_and_fails(capsys, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", UNCHECKABLE)
    code, rows, _ = run(
        capsys,
        str(project),
        "--policies",
        str(POLICIES),
        "--start-timeout",
        "1",
        "--max-start-requests",
        "50",
    )
    assert code == 1
    unchecked = {r["spider"]: r["reason"] for r in rows if r["verdict"] == "unchecked"}
    assert set(unchecked) == {"boom", "online", "lookup", "forever", "blocks", "needsargs"}
    assert "cannot be built without arguments" in unchecked["needsargs"]
    assert "RuntimeError: needs a database" in unchecked["boom"]
    assert "network" in unchecked["online"] and "127.0.0.1" in unchecked["online"]
    # Even a spider that swallows the refusal is unchecked: its output may depend on it.
    assert "name lookup of example.org" in unchecked["lookup"]
    assert "more than 50 requests" in unchecked["forever"]
    assert "within 1 s" in unchecked["blocks"]
    assert sum(1 for r in rows if r["spider"] == "forever" and r["verdict"] == "allow") == 50
    assert [r["verdict"] for r in rows if r["spider"] == "fine"] == ["allow"]
    # The refusal was lifted afterwards: this process can use the network again.
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.1", 9)) != 0  # refused by the OS, not by us


def test_allow_unchecked_exits_zero_but_still_lists_them(capsys, tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        class Boom(scrapy.Spider):
            name = 'boom'
            async def start(self):
                raise RuntimeError('x')
                yield
        """,
    )
    code, rows, _ = run(capsys, str(project), "--policies", str(POLICIES))
    assert code == 1 and rows[0]["verdict"] == "unchecked"
    code, rows, _ = run(capsys, str(project), "--policies", str(POLICIES), "--allow-unchecked")
    assert code == 0 and rows[0]["verdict"] == "unchecked"
    main(["spiders", str(project), "--policies", str(POLICIES)])
    assert "UNCHECKED boom: start() raised RuntimeError: x" in capsys.readouterr().out


def test_policy_dir_comes_from_the_project_relative_to_scrapy_cfg(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    project = make_project(
        tmp_path / "p",
        "class S(scrapy.Spider):\n    name = 's'\n    start_urls = ['https://twitter.com/']\n",
        "COMPLIANCE_POLICY_DIR = 'legal/policies'\n",
    )
    shutil.copytree(POLICIES, project / "legal" / "policies")
    # Started from a sub-directory of the project, as `scrapy` allows.
    monkeypatch.chdir(project / "proj" / "spiders")
    code, rows, _ = run(capsys)
    assert code == 1
    assert rows[0]["reasons"][0]["source"].startswith(str(project / "legal" / "policies"))
    shutil.rmtree(project / "legal")
    code, _, err = run(capsys)
    assert code == 2
    assert str(project / "legal" / "policies") in err and "does not exist" in err


def test_not_a_project_names_the_absolute_path(capsys, tmp_path: Path) -> None:
    code = main(["spiders", str(tmp_path), "--policies", str(POLICIES)])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path) in err and "scrapy.cfg" in err


def test_two_projects_in_one_process_do_not_mix(capsys, tmp_path: Path) -> None:
    spider = "class S(scrapy.Spider):\n    name = {!r}\n    start_urls = ['https://example.org/']\n"
    first = make_project(tmp_path / "a", spider.format("first"))
    second = make_project(tmp_path / "b", spider.format("second"))
    _, rows_a, _ = run(capsys, str(first), "--policies", str(POLICIES))
    _, rows_b, _ = run(capsys, str(second), "--policies", str(POLICIES))
    assert [r["spider"] for r in rows_a] == ["first"]
    assert [r["spider"] for r in rows_b] == ["second"]


def test_the_sample_project_fails_naming_its_spider(capsys) -> None:
    code = main(["spiders", str(REPO / "examples" / "sample_project")])
    out = capsys.readouterr().out
    assert code == 1
    assert "videos (start()): DENY  https://www.youtube.com/results" in out
    assert "google-youtube-2020-02.yaml:15" in out


def test_importing_the_spiders_is_offline_too(capsys, tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "socket.create_connection(('127.0.0.1', 9))\nclass S(scrapy.Spider):\n    name = 's'\n",
    )
    code = main(["spiders", str(project), "--policies", str(POLICIES)])
    err = capsys.readouterr().err
    assert code == 2 and "network refused while checking" in err


def test_a_start_request_routed_to_a_covered_host_is_denied(capsys, tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        class Routed(scrapy.Spider):
            name = 'routed'
            start_urls = ['https://example.org/']
            async def start(self):
                yield scrapy.Request('https://example.org/')
                yield scrapy.Request(
                    'https://example.org/', meta={'proxy': 'http://u:pw@proxy.youtube.com:3128'}
                )
                yield scrapy.Request('https://example.org/v', headers={'Host': 'www.youtube.com'})
        """,
    )
    code, rows, _ = run(capsys, str(project), "--policies", str(POLICIES))
    assert code == 1
    verdicts = [(r["source"], r["url"], r["verdict"]) for r in rows]
    assert verdicts == [
        ("start_urls", "https://example.org/", "allow"),
        ("start()", "https://example.org/", "deny"),  # through a covered proxy
        ("start()", "https://example.org/v", "deny"),  # Host header names YouTube
    ]
    assert "pw" not in json.dumps(rows)  # proxy credentials never printed
