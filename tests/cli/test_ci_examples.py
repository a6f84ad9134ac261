"""What a CI user runs: the plugin's example test, ``scrapy compliance``, pre-commit, --version."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import crawler_compliance
from crawler_compliance.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "sample_project"
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return env


def test_the_example_ci_test_fails_naming_notice_file_and_line() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(SAMPLE / "pytest.ini"),
            str(REPO / "examples" / "ci" / "test_compliance.py"),
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 2 passed" in out
    notice_file = REPO / "policies" / "notices" / "google-youtube-2020-02.yaml"
    # Not truncated: both requests of the spider, each with notice, file and line.
    for page in (1, 2):
        assert f"https://www.youtube.com/results?search_query=scrapy&page={page} is DENIED" in out
    assert out.count(f"({notice_file}:15)") == 2
    assert "cease-and-desist notice 'google-youtube-2020-02'" in out
    assert "sample/spiders/videos.py:4" in out
    assert "...Full output truncated" not in out


def test_plugin_resolves_policies_and_projects_against_the_rootdir(
    pytester: pytest.Pytester,
) -> None:
    import shutil

    shutil.copytree(REPO / "policies", pytester.path / "legal")
    shutil.copytree(SAMPLE / "sample", pytester.path / "sample")
    (pytester.path / "scrapy.cfg").write_text("[settings]\ndefault = sample.settings\n")
    pytester.makeini("[pytest]\ncompliance_policies = legal\n")
    (pytester.path / "sub").mkdir()
    pytester.makepyfile(
        **{
            "sub/test_it": """
            from crawler_compliance.pytest_plugin import assert_spiders_compliant

            def test_policy_from_rootdir(compliance_policy):
                assert len(compliance_policy.notices) == 4

            def test_spiders(compliance_spiders):
                findings = compliance_spiders()
                assert {f.spider for f in findings} == {"news", "videos"}
                assert [f.denied for f in findings if f.spider == "videos"] == [True, True]

            def test_notices(compliance_notices):
                assert compliance_notices() == []
            """
        }
    )
    # Started from a sub-directory: relative paths still mean the rootdir's.
    os.chdir(pytester.path / "sub")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:twisted")
    result.assert_outcomes(passed=3)


def test_scrapy_compliance_command_uses_the_project_settings() -> None:
    scrapy = str(BIN / "scrapy")
    spiders = subprocess.run(
        [scrapy, "compliance", "spiders"],
        cwd=SAMPLE,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert spiders.returncode == 1, spiders.stdout + spiders.stderr
    assert "videos (start()): DENY" in spiders.stdout
    check = subprocess.run(
        [scrapy, "compliance", "check", "--offline", "--format", "junit", "https://twitter.com/"],
        cwd=SAMPLE / "sample",
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert check.returncode == 1, check.stderr
    case = ET.fromstring(check.stdout).find("testsuite/testcase/failure")
    assert case is not None and "twitter-2020-01" in case.get("message", "")
    # -s overrides reach the command like any Scrapy setting.
    missing = subprocess.run(
        [scrapy, "compliance", "check", "--offline", "-s", "COMPLIANCE_POLICY_DIR=nowhere", "x:"],
        cwd=SAMPLE,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert missing.returncode == 2 and str(SAMPLE / "nowhere") in missing.stderr


def test_version_has_one_source(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"crawler-compliance {crawler_compliance.__version__}"
    assert version("crawler-compliance") == crawler_compliance.__version__


def test_pre_commit_hook_validates_policy_files() -> None:
    import re

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "crawler-compliance validate" and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("policies/notices/acme.yaml") and files.search("policies/policy.yaml")
    assert files.search("legal/policies/sites/news.YAML")  # so validate can warn about it
    assert not files.search("src/spiders/news.py")


def test_the_example_workflow_is_valid_yaml_running_the_checks() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "compliance.yml").read_text())
    steps = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["compliance"]["steps"])
    for command in ("validate", "notices check", "spiders", "--format junit", "pytest"):
        assert command in steps
