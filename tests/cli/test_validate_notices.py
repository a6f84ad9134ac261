"""``validate`` (files, warnings, every problem at once) and ``notices list|show|new|check``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crawler_compliance.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"

NOTICE = """\
id: {id}
issuer:
  name: Acme
received: 2020-01-01
{extra}status: {status}
scopes:
  - label: Acme
    kind: named-service
    domains: [{domain}]
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_problem_of_every_file_in_one_run(capsys, policies: Path) -> None:
    notices = policies / "notices"
    (notices / "tabs.yaml").write_text("id: tabs\nissuer:\n\tname: X\n")
    (notices / "star.yaml").write_text(
        NOTICE.format(id="star", extra="", status="active", domain="").replace(
            "domains: []", "domains:\n      - *.example.com"
        )
    )
    # A field error and two cross-field errors in the same file.
    (notices / "cross.yaml").write_text(
        NOTICE.format(
            id="cross", extra="expires: 2019-01-01\n", status="superseded", domain="a..example"
        )
    )
    code, out, err = run(capsys, "validate", str(policies))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert any("tabs.yaml:3:1:" in line and "indent with spaces" in line for line in lines)
    assert any("star.yaml:" in line and "drop the `*.`" in line for line in lines)
    cross = [line for line in lines if "cross.yaml" in line]
    assert any(
        "expires before it was received" in line
        or "expires (2019-01-01) before it was received" in line
        for line in cross
    )
    assert any("superseded_by" in line for line in cross)
    assert any("'a..example' is not a domain name" in line for line in cross)
    assert lines[-1].endswith("invalid (5 errors in 3 files)")


def test_warnings_for_files_not_read_and_notices_not_in_force(capsys, policies: Path) -> None:
    notices = policies / "notices"
    (notices / "archive").mkdir()
    (notices / "Upper.YAML").write_text("id: x\n")
    (notices / "README.md").write_text("notes\n")
    (policies / "stray.yaml").write_text("id: y\n")
    (notices / "expired.yaml").write_text(
        NOTICE.format(
            id="expired", extra="expires: 2021-06-30\n", status="active", domain="e.example"
        )
    )
    (notices / "withdrawn.yaml").write_text(
        NOTICE.format(id="withdrawn", extra="", status="withdrawn", domain="w.example")
    )
    (notices / "future.yaml").write_text(
        NOTICE.format(
            id="future", extra="effective: 2999-01-01\n", status="active", domain="f.example"
        )
    )
    code, out, err = run(capsys, "validate", str(policies))
    assert code == 0 and out.strip().endswith("valid (7 notices, 4 site records)")
    assert "notices/archive: not read: folders inside notices/" in err
    assert "Upper.YAML: not read: the suffix must be .yaml or .yml in lower case" in err
    assert "README.md: not read" in err
    assert "stray.yaml: not read" in err
    assert "notice 'expired' is not in force today (expired on 2021-06-30)" in err
    assert "notice 'withdrawn' is not in force today (withdrawn)" in err
    assert "notice 'future' is not in force today (takes effect on 2999-01-01)" in err
    assert "expired.yaml:1" in err  # located, so an editor jumps to it


def test_single_files(capsys, policies: Path, tmp_path: Path) -> None:
    # A file of a policy directory is checked with its directory (ids compared).
    twin = policies / "notices" / "twin.yaml"
    twin.write_text(
        NOTICE.format(id="twitter-2020-01", extra="", status="active", domain="t.example")
    )
    code, out, _ = run(capsys, "validate", str(twin))
    assert code == 1 and "duplicate notice id 'twitter-2020-01'" in out
    twin.unlink()
    code, out, _ = run(capsys, "validate", str(policies / "notices" / "twitter-2020-01.yaml"))
    assert code == 0 and "valid (4 notices" in out
    # A file on its own (pre-commit passes files): checked by what it is.
    alone = tmp_path / "draft.yaml"
    alone.write_text(NOTICE.format(id="draft", extra="", status="active", domain="bad domain"))
    code, out, _ = run(capsys, "validate", str(alone))
    assert code == 1 and "draft.yaml:9:15:" in out and "'bad domain'" in out
    code, _, err = run(capsys, "validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and str(tmp_path / "missing.yaml") in err


def test_notices_list_and_show(capsys, policies: Path) -> None:
    (policies / "notices" / "old.yaml").write_text(
        NOTICE.format(id="old", extra="", status="withdrawn", domain="old.example")
    )
    code, out, _ = run(capsys, "notices", "list", "--policies", str(policies), "--json")
    rows = {row["id"]: row for row in map(json.loads, out.splitlines())}
    assert code == 0 and len(rows) == 5
    assert rows["old"]["in_force"] is False and rows["old"]["state"] == "withdrawn"
    assert rows["twitter-2020-01"]["in_force"] is True
    assert rows["twitter-2020-01"]["issuer"] == "Twitter, Inc."
    assert rows["twitter-2020-01"]["domains"] == 10
    code, out, _ = run(capsys, "notices", "list", "--policies", str(policies))
    assert "no: withdrawn" in out
    code, out, _ = run(capsys, "notices", "show", "twitter-2020-01", "--policies", str(policies))
    assert code == 0 and "twitter.com  [line 16]" in out and "issuer:     Twitter, Inc." in out
    code, _, err = run(capsys, "notices", "show", "nope", "--policies", str(policies))
    assert code == 2 and "no notice 'nope'" in err


def test_notices_new_writes_a_template_that_validates(capsys, policies: Path) -> None:
    code, out, _ = run(
        capsys,
        "notices",
        "new",
        "--issuer",
        'Acme "Widgets"\nLtd',
        "--domain",
        "acme.example",
        "--domain",
        "acme-widgets.example",
        "--policies",
        str(policies),
        "--received",
        "2026-03-04",
    )
    written = policies / "notices" / "acme-widgets-ltd-2026-03.yaml"
    assert code == 0 and written.is_file()
    assert run(capsys, "validate", str(policies))[0] == 0
    code, out, _ = run(
        capsys, "check", "--offline", "--policies", str(policies), "https://www.acme.example/"
    )
    assert code == 1 and "acme-widgets-ltd-2026-03" in out
    code, _, err = run(
        capsys,
        "notices",
        "new",
        "--issuer",
        "Acme Widgets Ltd",
        "--domain",
        "x.example",
        "--policies",
        str(policies),
        "--received",
        "2026-03-04",
    )
    assert code == 2 and "exists" in err  # never overwrites
    code, _, err = run(
        capsys, "notices", "new", "--issuer", "A", "--domain", "not a domain", "--output", "-"
    )
    assert code == 2 and "'not a domain' is not a domain name" in err


def test_notices_check_passes_for_the_shipped_policy(capsys, policies: Path) -> None:
    (policies / "notices" / "ip.yaml").write_text(
        NOTICE.format(id="ip", extra="", status="active", domain="ok.example").replace(
            "domains: [ok.example]", "domains: [ok.example]\n    addresses: ['192.0.2.0/24']"
        )
    )
    code, out, _ = run(capsys, "notices", "check", "--policies", str(policies))
    assert code == 0 and "every entry of the 5 notice(s) in force today denies" in out


def test_the_notice_self_check_names_each_entry_that_does_not_deny(policies: Path) -> None:
    from crawler_compliance._checker import ComplianceChecker
    from crawler_compliance._notices import notices_that_do_not_deny
    from crawler_compliance._registry import Registry
    from crawler_compliance.policy import load_policy

    policy = load_policy(policies)
    # A registry that lost the Twitter notice (as a broken matcher would): every one
    # of its entries must be reported, located in the notice file.
    others = [n for n in policy.notices if n.id != "twitter-2020-01"]
    checker = ComplianceChecker(policy, registry=Registry(others))
    problems = notices_that_do_not_deny(checker)
    assert {p.notice_id for p in problems} == {"twitter-2020-01"}
    first = problems[0]
    assert first.entry == "twitter.com" and first.url == "https://twitter.com/"
    assert str(first).startswith(f"{policies / 'notices' / 'twitter-2020-01.yaml'}:16: ")
    assert len(problems) == 11  # 10 domains and 1 brand
