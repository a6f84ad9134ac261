"""A cluster without PostgreSQL: each worker writes its own audit file
(``COMPLIANCE_AUDIT_LOG`` placeholders) and ``audit verify | report DIR`` read them
as one record, each file its own chain."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance import cli
from crawler_compliance.scrapy import ComplianceConfigError
from crawler_compliance.scrapy._config import expand_audit_log
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import ListSpider, base_settings, crawl


class AlphaSpider(ListSpider):
    name = "alpha"


class BetaSpider(ListSpider):
    name = "beta"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


async def two_workers(server: LoopbackServer, policy_dir: Path, directory: Path) -> list[Path]:
    """Two crawls of two spiders, one with COMPLIANCE_WORKER_NAME, one without."""
    server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\n")
    for page in ("a", "b", "c"):
        server.route("127.0.0.1", f"/{page}", body=page)
    template = str(directory / "audit-%(name)s-%(worker)s.jsonl")
    first = base_settings(policy_dir, directory / "unused", COMPLIANCE_WORKER_NAME="w1")
    first["COMPLIANCE_AUDIT_LOG"] = template
    await crawl(first, [server.url("/a"), server.url("/b")], spider_cls=AlphaSpider)
    second = base_settings(policy_dir, directory / "unused")
    second["COMPLIANCE_AUDIT_LOG"] = template
    await crawl(second, [server.url("/c")], spider_cls=BetaSpider)
    worker = f"{socket.gethostname()}-{os.getpid()}"
    return [directory / "audit-alpha-w1.jsonl", directory / f"audit-beta-{worker}.jsonl"]


@deferred_f_from_coro_f
async def test_each_worker_writes_its_own_file_and_verify_dir_checks_each_chain(
    server: LoopbackServer, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "cluster"
    files = await two_workers(server, policy_dir, directory)
    assert all(path.is_file() for path in files)
    assert sorted(p.name for p in directory.glob("*.jsonl")) == sorted(p.name for p in files)
    for path in files:  # each spider's records in its own file
        spiders = {json.loads(line).get("spider") for line in path.read_text().splitlines()}
        assert spiders == {path.name.split("-")[1]}

    code, out, _ = run_cli(capsys, "audit", "verify", directory)
    assert code == 0, out
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["OK", "OK"]
    assert any(str(files[0]) in line for line in lines) and any(
        str(files[1]) in line for line in lines
    )
    assert lines[-1].startswith("2 chain(s), 0 with problems")

    # The same, named file by file, and as JSON: one entry per chain.
    code, out, _ = run_cli(capsys, "audit", "verify", files[0], files[1], "--json")
    assert code == 0
    assert [(entry["file"], entry["ok"]) for entry in json.loads(out)] == [
        (str(files[0]), True),
        (str(files[1]), True),
    ]

    # One edited record in one worker's file: that chain fails, the other still verifies.
    text = files[1].read_text()
    files[1].write_text(text.replace("/c", "/x", 1))
    code, out, _ = run_cli(capsys, "audit", "verify", directory)
    assert code == 1
    verdicts = {line.split(": ")[1]: line.split(":")[0] for line in out.splitlines()[:2]}
    assert verdicts[str(files[0])] == "OK"
    assert verdicts[str(files[1])] != "OK"
    assert out.splitlines()[-1].startswith("2 chain(s), 1 with problems")


@deferred_f_from_coro_f
async def test_report_dir_totals_every_workers_file(
    server: LoopbackServer, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "cluster"
    files = await two_workers(server, policy_dir, directory)
    singles = []
    for path in files:
        code, out, _ = run_cli(capsys, "audit", "report", path, "--json")
        assert code == 0
        singles.append(json.loads(out))
    code, out, _ = run_cli(capsys, "audit", "report", directory, "--json")
    assert code == 0, out
    together = json.loads(out)
    assert together["totals"]["pages"] == 3
    for key in ("records", "pages", "pages-allow", "own-fetches", "runs"):
        assert together["totals"][key] == sum(s["totals"][key] for s in singles), key
    assert together["chain"]["ok"] is True
    assert together["chain"]["checkpoint"] == "2 chain(s), 0 with problems"

    code, out, _ = run_cli(capsys, "audit", "report", directory)
    assert code == 0 and "chain: intact" in out

    files[0].write_text(files[0].read_text().replace("/a", "/z", 1))
    code, out, _ = run_cli(capsys, "audit", "report", directory)
    assert code == 1
    assert str(files[0]) in out


def test_a_directory_means_its_live_logs_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "audit.jsonl.000001").write_text("")
    (empty / "audit.jsonl.checkpoints").write_text("")
    for command in ("verify", "report"):
        code, _, err = run_cli(capsys, "audit", command, empty)
        assert code == 2 and "no *.jsonl audit log" in err


@pytest.mark.parametrize(
    "template",
    ["audit-%(nope)s.jsonl", "audit-100%.jsonl", "audit-%(name)d.jsonl", "audit-%s.jsonl"],
)
@deferred_f_from_coro_f
async def test_a_bad_placeholder_stops_the_crawl_naming_the_setting(
    server: LoopbackServer, policy_dir: Path, tmp_path: Path, template: str
) -> None:
    settings = base_settings(policy_dir, tmp_path / "unused")
    settings["COMPLIANCE_AUDIT_LOG"] = str(tmp_path / template)
    with pytest.raises(ComplianceConfigError, match="COMPLIANCE_AUDIT_LOG"):
        await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert server.received == []
    assert list(tmp_path.glob("audit*")) == []


def test_placeholder_values_are_one_safe_path_component() -> None:
    started = datetime(2026, 12, 1, 22, 5, 9, tzinfo=timezone.utc)
    path = expand_audit_log(
        "logs/%(name)s-%(worker)s-%(time)s-100%%.jsonl",
        spider="../../etc",
        worker="a/b\\c..d",
        started=started,
    )
    assert path == "logs/____etc-a_b_c_d-20261201T220509Z-100%.jsonl"
    host_pid = expand_audit_log("%(host)s-%(pid)s-%(worker)s", spider=None)
    assert host_pid == f"{socket.gethostname()}-{os.getpid()}-{socket.gethostname()}-{os.getpid()}"
