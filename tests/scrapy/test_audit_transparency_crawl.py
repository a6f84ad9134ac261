"""A crawl with a signing key and a witness: what lands in stats, the log and the sidecar."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance.audit._checkpoints import read_sidecar, sidecar_path
from crawler_compliance.audit._note import Note, Signer, TreeHead
from crawler_compliance.audit._tlog import verify_tlog
from crawler_compliance.scrapy import ComplianceConfigError
from tests.audit.witness_server import WitnessServer
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, Signer]:
    signer = Signer.generate("crawl.example/audit")
    path = tmp_path / "audit.key"
    path.write_text(signer.text + "\n")
    path.chmod(0o600)
    return path, signer


@deferred_f_from_coro_f
async def test_signed_and_witnessed_checkpoint_at_close(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, key_file, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="crawler_compliance")
    path, signer = key_file
    witness = WitnessServer("witness.example/w1", [signer.verifier()])
    try:
        for n in range(5):
            server.route("open.example", f"/p{n}", body="x")
        settings = base_settings(
            policy_dir,
            audit_path,
            COMPLIANCE_AUDIT_SIGNING_KEY=str(path),
            COMPLIANCE_AUDIT_CHECKPOINT_EVERY=2,
            COMPLIANCE_AUDIT_WITNESSES=[witness.config],
        )
        urls = [f"http://open.example/p{n}" for n in range(5)]
        result = await crawl(settings, urls, proxy=server.proxy)
    finally:
        witness.close()
    note = Note.parse(result.stats["compliance/audit/checkpoint"])
    head = TreeHead.parse(note.text)
    assert head.origin == "crawl.example/audit" and head.size == len(result.records)
    assert note.verified_by([signer.verifier()]) == {"crawl.example/audit": 0}
    assert result.stats["compliance/audit/witness/cosigned"] >= 1
    assert result.stats["compliance/audit/witness/errors"] == 0
    assert note.text in caplog.text
    assert signer.text not in caplog.text  # the private key never reaches a log
    cosigned = [
        e
        for e in read_sidecar(sidecar_path(audit_path))
        if not isinstance(e, str) and e.type == "cosigned"
    ]
    assert cosigned[-1].head == head
    assert verify_tlog(audit_path, key=signer.verifier(), witnesses=[witness.verifier]).ok
    assert all(len(r["run"]) == 16 for r in result.records)


@deferred_f_from_coro_f
async def test_witnesses_without_a_key_stop_start_up(
    server: LoopbackServer, policy_dir: Path, audit_path: Path
) -> None:
    witness = WitnessServer("witness.example/w1", [])
    try:
        settings = base_settings(
            policy_dir, audit_path, COMPLIANCE_AUDIT_WITNESSES=[witness.config]
        )
        with pytest.raises(ComplianceConfigError, match="COMPLIANCE_AUDIT_SIGNING_KEY"):
            await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    finally:
        witness.close()
    assert server.received == []


@deferred_f_from_coro_f
async def test_an_unreadable_signing_key_stops_start_up(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("PRIVATE+KEY+not-really\n")
    settings = base_settings(policy_dir, audit_path, COMPLIANCE_AUDIT_SIGNING_KEY=str(bad))
    with pytest.raises(ComplianceConfigError, match="COMPLIANCE_AUDIT_SIGNING_KEY") as info:
        await crawl(settings, ["http://open.example/"], proxy=server.proxy)
    assert "not-really" not in str(info.value)
    assert server.received == []
