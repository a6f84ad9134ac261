"""``crawler-compliance check``: formats, URL sources, proxies, the crawl's identity."""

from __future__ import annotations

import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crawler_compliance._identity import crawl_identity
from crawler_compliance.cli import main
from tests.cli.test_spiders import make_project
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]
POLICIES = str(REPO / "policies")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_junit_is_valid_xml_with_one_testcase_per_url(capsys) -> None:
    odd = "https://example.org/<tag>&\"'\x01"
    code, out, _ = run(
        capsys,
        "check",
        "--offline",
        "--format",
        "junit",
        "--policies",
        POLICIES,
        "https://www.youtube.com/watch?v=1",
        "https://example.org/",
        odd,
    )
    assert code == 1
    root = ET.fromstring(out.encode())  # parses: well-formed, control characters escaped
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "https://www.youtube.com/watch?v=1",
        "https://example.org/",
        "https://example.org/<tag>&\"'\\x01",
    ]
    assert suite.get("tests") == "3" and suite.get("failures") == "2"  # \x01 is refused
    assert suite.get("errors") == "0" and root.get("failures") == "2"
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "registry"
    assert "google-youtube-2020-02" in failure.get("message", "")
    assert "google-youtube-2020-02.yaml:15" in (failure.text or "")
    assert cases[1].find("failure") is None and all(c.get("classname") for c in cases)


def test_json_alias_and_format_json_agree(capsys) -> None:
    _, by_alias, _ = run(
        capsys, "check", "--offline", "--json", "--policies", POLICIES, "https://x.org/"
    )
    _, by_format, _ = run(
        capsys, "check", "--offline", "--format", "json", "--policies", POLICIES, "https://x.org/"
    )
    assert json.loads(by_alias) == json.loads(by_format)


def test_urls_from_stdin_and_from_a_file(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("# comment\n\nhttps://twitter.com/a\n  https://example.org/b  \n")
    code, out, _ = run(
        capsys, "check", "--offline", "--json", "--policies", POLICIES, "--urls-from", str(listing)
    )
    assert code == 1
    assert [json.loads(line)["url"] for line in out.splitlines()] == [
        "https://twitter.com/a",
        "https://example.org/b",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("https://example.org/c\n"))
    code, out, _ = run(capsys, "check", "--offline", "--json", "--policies", POLICIES, "-")
    assert code == 0 and json.loads(out)["url"] == "https://example.org/c"
    code, _, err = run(
        capsys, "check", "--offline", "--policies", POLICIES, "--urls-from", str(tmp_path / "no")
    )
    assert code == 2 and "cannot read" in err


def test_robots_txt_goes_through_the_environment_proxy_like_a_crawl(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackServer() as proxy:
        proxy.route("open.example", "/robots.txt", body="User-agent: *\nDisallow: /private\n")
        monkeypatch.setenv("http_proxy", proxy.proxy)
        code, out, _ = run(
            capsys, "check", "--json", "--policies", POLICIES, "http://open.example/private/x"
        )
        assert code == 1
        assert [r for r in json.loads(out)["reasons"] if r["check"] == "robots"][0]["line"] == 2
        assert [(r.host, r.path, r.via_proxy) for r in proxy.received] == [
            ("open.example", "/robots.txt", True)
        ]


def test_no_proxy_and_explicit_proxy(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer() as server, LoopbackServer() as explicit:
        server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\n")
        explicit.route("open.example", "/robots.txt", body="User-agent: *\nDisallow: /\n")
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        code, _, _ = run(capsys, "check", "--policies", POLICIES, server.url("/page"))
        # (The policy's purpose, research, is text and data mining: tdmrep.json is read too.)
        assert code == 0
        assert server.paths("127.0.0.1") == ["/robots.txt", "/.well-known/tdmrep.json"]
        code, _, _ = run(
            capsys,
            "check",
            "--policies",
            POLICIES,
            "--proxy",
            explicit.proxy,
            "http://open.example/x",
        )
        assert code == 1 and explicit.paths("open.example") == ["/robots.txt"]


def test_a_covered_proxy_host_denies(capsys) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--json",
        "--policies",
        POLICIES,
        "--proxy",
        "http://proxy.youtube.com:3128",
        "http://open.example/",
    )
    assert code == 1 and json.loads(out)["reasons"][0]["rule"] == "google-youtube-2020-02"


def test_in_a_project_check_matches_robots_for_the_crawls_token(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(
        tmp_path / "p",
        "",
        "USER_AGENT = 'OtherBot/2.0 (+https://example.invalid)'\n"
        "COMPLIANCE_POLICY_DIR = 'policies'\n",
    )
    shutil.copytree(POLICIES, project / "policies")
    with LoopbackServer() as server:
        server.route(
            "127.0.0.1",
            "/robots.txt",
            body="User-agent: OtherBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
        )
        url = server.url("/page")
        code, _, _ = run(capsys, "check", "--policies", POLICIES, url)
        assert code == 0  # outside the project: the policy's token, the * group
        monkeypatch.chdir(project / "proj")
        code, out, err = run(capsys, "check", url)
        assert code == 1 and "line 2 disallows /page" in out  # the OtherBot group
        assert "policy's crawler.product_token is 'ComplianceDemoBot'" in err
        sent = {k.lower(): v for k, v in server.received[-1].headers.items()}
        assert sent["user-agent"] == "OtherBot/2.0 (+https://example.invalid)"


def test_inactive_notices_that_match_are_information(capsys, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "notices" / "old.yaml").write_text(
        "id: old-2019\nissuer:\n  name: Old Corp\nreceived: 2019-01-01\nexpires: 2019-12-31\n"
        "status: active\nscopes:\n  - label: Old\n    kind: named-service\n"
        "    domains: [old.example]\n"
    )
    code, out, _ = run(
        capsys, "check", "--offline", "--policies", str(policies), "https://old.example/"
    )
    assert code == 0
    assert "info  registry: notice 'old-2019' from Old Corp matches old.example" in out
    assert "expired on 2019-12-31" in out
    code, out, _ = run(
        capsys, "check", "--offline", "--json", "--policies", str(policies), "https://old.example/"
    )
    assert json.loads(out)["information"][0]["rule"] == "old-2019"


def test_a_missing_policy_directory_names_the_absolute_path(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check", "--offline", "https://example.org/")
    assert code == 2 and str(tmp_path / "policies") in err


@pytest.mark.parametrize(
    ("header", "setting", "token", "warns"),
    [
        (None, None, "PolicyBot", 0),
        ("PolicyBot/1.0 (+x)", None, "PolicyBot", 0),
        ("Scrapy/2.13 (+https://scrapy.org)", None, "Scrapy", 1),
        ("PolicyBot/1.0", "OtherBot", "OtherBot", 2),
        ("Mozilla/5.0 (compatible; PolicyBot/0.1)", None, "PolicyBot", 0),
    ],
)
def test_crawl_identity(header, setting, token, warns) -> None:
    identity = crawl_identity(
        user_agent_header=header, compliance_user_agent=setting, policy_token="PolicyBot"
    )
    assert identity.robots_token == token and len(identity.warnings) == warns
    assert identity.header == (header or "PolicyBot/1.0")


def test_an_endless_line_in_the_url_list_is_skipped(capsys, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("https://example.org/" + "a" * 300_000 + "\nhttps://twitter.com/\n")
    code, out, _ = run(
        capsys, "check", "--offline", "--json", "--policies", POLICIES, "--urls-from", str(listing)
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and rows[-1]["url"] == "https://twitter.com/" and len(rows) == 2
    # Never decided cut short (a shorter path could be allowed): denied, and said why.
    assert rows[0]["verdict"] == "deny" and len(rows[0]["url"]) < 300
    assert "longer than" in rows[0]["reasons"][0]["message"]
