"""`crawler-compliance check` reads tdmrep.json and RSL licences too (stdlib fetcher)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler_compliance.cli import main
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]
POLICIES = str(REPO / "policies")
LICENCE = (
    '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    '<prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)


def check(capsys, purpose: str, audit: Path, *urls: str) -> tuple[int, list[dict]]:
    code = main(
        [
            "check",
            "--json",
            "--policies",
            POLICIES,
            "--purpose",
            purpose,
            "--audit-log",
            str(audit),
            *urls,
        ]
    )
    out, _ = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("purpose", "denied"),
    [
        ("ai-training", {"/reserved/a", "/x"}),
        ("research", {"/reserved/a"}),
        ("search-indexing", set()),
    ],
)
def test_check_reads_tdmrep_and_licences(capsys, tmp_path: Path, purpose, denied) -> None:
    with LoopbackServer() as server:
        server.route(
            "127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\nLicense: /license.xml\n"
        )
        server.route(
            "127.0.0.1",
            "/.well-known/tdmrep.json",
            body='[{"location": "/reserved/", "tdm-reservation": 1}]',
        )
        server.route("127.0.0.1", "/license.xml", body=LICENCE)
        paths = ["/reserved/a", "/x"]
        code, decisions = check(capsys, purpose, tmp_path / "a.jsonl", *map(server.url, paths))
        seen = server.paths("127.0.0.1")
    refused = {p for p, d in zip(paths, decisions, strict=True) if d["verdict"] == "deny"}
    assert refused == denied
    assert code == (1 if denied else 0)
    # Each file read once per run, and tdmrep.json only for a purpose TDM covers.
    assert seen.count("/.well-known/tdmrep.json") == (0 if purpose == "search-indexing" else 1)
    assert seen.count("/license.xml") == 1
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    own = [r["url"].rsplit("/", 1)[-1] for r in records if r["kind"] == "own-fetch"]
    assert own[0] == "robots.txt" and "license.xml" in own
    assert main(["audit", "verify", str(tmp_path / "a.jsonl")]) == 0


def test_unreachable_tdmrep_fails_closed_in_the_cli(capsys, tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.route("127.0.0.1", "/robots.txt", body="User-agent: *\nAllow: /\n")
        server.route("127.0.0.1", "/.well-known/tdmrep.json", status=500)
        code, (decision,) = check(capsys, "ai-training", tmp_path / "a.jsonl", server.url("/p"))
    assert code == 1
    (deny,) = [r for r in decision["reasons"] if r["outcome"] == "deny"]
    assert deny["signal"] == "tdmrep" and "500" in deny["message"]
