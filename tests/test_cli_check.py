"""``crawler-compliance check`` and ``spiders``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler_compliance.cli import main
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[1]
POLICIES = str(REPO / "policies")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_offline_json_denies_youtube_allows_example_org(capsys) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--offline",
        "--json",
        "--policies",
        POLICIES,
        "https://www.youtube.com/watch?v=1",
        "https://example.org/",
        "http://evil.example\\@google.com/",
    )
    youtube, example, ambiguous = (json.loads(line) for line in out.splitlines())
    assert code == 1
    assert youtube["url"] == "https://www.youtube.com/watch?v=1"
    assert youtube["verdict"] == "deny"
    assert youtube["reasons"][0]["rule"] == "google-youtube-2020-02"
    assert example["verdict"] == "allow" and example["offline"] is True
    assert ambiguous["verdict"] == "deny"
    assert "ambiguous" in ambiguous["reasons"][0]["message"]


def test_all_allowed_exits_zero_and_says_offline(capsys) -> None:
    code, out, _ = run(capsys, "check", "--offline", "--policies", POLICIES, "https://example.org/")
    assert code == 0
    assert out.startswith("ALLOW https://example.org/")
    assert "offline" in out


@pytest.mark.parametrize("junk", ["", "not a url", "http://", "\x00", "javascript:x", "%%%"])
def test_any_input_string_is_answered(capsys, junk: str) -> None:
    code, out, _ = run(capsys, "check", "--offline", "--json", "--policies", POLICIES, junk)
    record = json.loads(out)
    assert code == 1 and record["url"] == junk and record["verdict"] == "deny"


def test_policy_errors_exit_two(capsys, tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("crawler: [\n")
    code, _, err = run(
        capsys, "check", "--offline", "--policies", str(tmp_path), "https://example.org/"
    )
    assert code == 2
    assert "policy.yaml:" in err


def test_usage_error_exits_two(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_online_check_fetches_robots_and_reports_the_line(capsys, tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nDisallow: /private\n")
        audit = tmp_path / "audit.jsonl"
        code, out, _ = run(
            capsys,
            "check",
            "--json",
            "--policies",
            POLICIES,
            "--audit-log",
            str(audit),
            server.url("/private/x"),
            server.url("/public"),
        )
    private, public = (json.loads(line) for line in out.splitlines())
    assert code == 1
    assert private["verdict"] == "deny"
    robots_reason = [r for r in private["reasons"] if r["check"] == "robots"][0]
    assert robots_reason["line"] == 2
    assert public["verdict"] == "allow"
    assert server.paths("127.0.0.1").count("/robots.txt") == 1
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    # The robots.txt fetch itself was decided and recorded before the pages; the
    # allowed page also needed tdmrep.json (the policy's purpose, research, is TDM).
    assert records[0]["url"].endswith("/robots.txt")
    assert [(r["kind"], r["verdict"]) for r in records] == [
        ("own-fetch", "allow"),
        ("page", "deny"),
        ("own-fetch", "allow"),
        ("page", "allow"),
    ]
    assert records[2]["url"].endswith("/.well-known/tdmrep.json")
    assert main(["audit", "verify", str(audit)]) == 0


def test_spiders_command_checks_start_urls_and_allowed_domains(capsys, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "proj" / "spiders").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = proj.settings\n")
    (project / "proj" / "__init__.py").write_text("")
    (project / "proj" / "settings.py").write_text("SPIDER_MODULES = ['proj.spiders']\n")
    (project / "proj" / "spiders" / "__init__.py").write_text(
        "import scrapy\n\n"
        "class Good(scrapy.Spider):\n    name = 'good'\n"
        "    start_urls = ['https://example.org/']\n\n"
        "class Bad(scrapy.Spider):\n    name = 'bad'\n"
        "    allowed_domains = ['youtube.com']\n"
        "    start_urls = ['https://www.youtube.com/']\n"
    )
    code, out, _ = run(capsys, "spiders", str(project), "--json", "--policies", POLICIES)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    verdicts = {(r["spider"], r["source"]): r["verdict"] for r in rows}
    assert verdicts == {
        ("bad", "start_urls"): "deny",
        ("bad", "allowed_domains"): "deny",
        ("good", "start_urls"): "allow",
    }


def test_audit_log_never_holds_secrets_whatever_the_policy_lists(capsys, tmp_path: Path) -> None:
    import shutil

    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    policy_yaml = policies / "policy.yaml"
    # Legal lists only one name: the built-in names stay redacted all the same.
    text = policy_yaml.read_text().replace(
        "audit:\n", "audit:\n  redact_query_params: [house_secret]\n", 1
    )
    policy_yaml.write_text(text)
    audit = tmp_path / "audit.jsonl"
    url = "https://bob:PW1@example.org/a;jsessionid=S2?sid=S3&token=S4&house_secret=S5&page=2"
    code, _, _ = run(
        capsys, "check", "--offline", "--policies", str(policies), "--audit-log", str(audit), url
    )
    assert code == 0
    logged = audit.read_text()
    for secret in ("PW1", "S2", "S3", "S4", "S5"):
        assert secret not in logged
    assert "page=2" in logged


def test_unusable_audit_log_is_a_usage_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(
        capsys,
        "check",
        "--offline",
        "--policies",
        POLICIES,
        "--audit-log",
        str(tmp_path),
        "https://example.org/",
    )
    assert code == 2
    assert "cannot open the audit log" in err


def test_json_output_is_valid_in_any_locale(capsys) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--offline",
        "--json",
        "--policies",
        POLICIES,
        "http://ex\udcff.com/",
        "https://bücher.example/",
    )
    assert out.isascii()
    urls = [json.loads(line)["url"] for line in out.splitlines()]
    assert urls == ["http://ex\udcff.com/", "https://bücher.example/"]


@pytest.mark.parametrize(("on_429", "verdict"), [("deny", "deny"), ("allow", "allow")])
def test_online_check_follows_the_policys_429_rule(
    capsys, tmp_path: Path, on_429: str, verdict: str
) -> None:
    import shutil

    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    policy_yaml = policies / "policy.yaml"
    policy_yaml.write_text(policy_yaml.read_text().replace("on_429: deny", f"on_429: {on_429}", 1))
    with LoopbackServer() as server:
        server.route("127.0.0.1", "/robots.txt", status=429, body="slow down")
        code, out, _ = run(
            capsys, "check", "--json", "--policies", str(policies), server.url("/page")
        )
    assert json.loads(out)["verdict"] == verdict


def test_text_output_never_writes_terminal_escapes(capsys) -> None:
    code, out, _ = run(
        capsys, "check", "--offline", "--policies", POLICIES, "http://example.org/\x1b[2J\u202eevil"
    )
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J\\u202eevil" in out


def test_the_shipped_entry_point_assembles_every_command(capsys) -> None:
    from importlib.metadata import entry_points

    [script] = entry_points(group="console_scripts", name="crawler-compliance")
    assert script.value == "crawler_compliance.cli:main" and script.load() is main
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("validate", "schema", "check", "spiders", "robots", "audit"):
        assert command in out
