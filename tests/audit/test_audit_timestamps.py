"""RFC 3161 trusted time on checkpoints, against a real (OpenSSL) TSA on loopback."""

from __future__ import annotations

import base64
import json
import os

import pytest

from crawler_compliance.audit import AuditLog
from crawler_compliance.audit._checkpoints import read_sidecar, sidecar_path
from crawler_compliance.audit._note import Signer
from crawler_compliance.audit._tlog import verify_tlog
from crawler_compliance.audit._tsa import TimestampAuthority, available
from crawler_compliance.audit._verify import VerifyStatus

from .audit_helpers import make_decision, read_lines
from .tsa_server import OPENSSL, TsaServer

pytestmark = pytest.mark.skipif(
    OPENSSL is None or not available(), reason="needs openssl and rfc3161-client"
)


@pytest.fixture
def tsa():
    server = TsaServer()
    yield server
    server.close()


def fill(path, count, **kw):
    with AuditLog(path, **kw) as log:
        for i in range(count):
            log.append(make_decision(f"https://www.example.com/{i}", deny=bool(i % 3)))
    return log


def stamps(path):
    return [
        e
        for e in read_sidecar(sidecar_path(path))
        if not isinstance(e, str) and e.type == "timestamp"
    ]


def test_checkpoints_get_tokens_that_verify_against_the_tsa_root(log_path, tsa, run_cli):
    signer = Signer.generate("example.org/log")
    log = fill(log_path, 25, signer=signer, checkpoint_every=10, tsa=TimestampAuthority(tsa.url))
    assert log.timestamp_stats[0] >= 1 and log.timestamp_stats[1] == 0
    assert stamps(log_path)[-1].head.size == 25
    report = verify_tlog(log_path, key=signer.verifier(), tsa_roots=[tsa.root])
    assert report.ok and report.timestamped[0] == 25
    code, out, _ = run_cli("audit", "verify", log_path, "--tsa-cert", tsa.root_pem)
    assert code == 0 and "timestamped: checkpoint of size 25 existed at" in out


def test_a_token_from_another_tsa_or_altered_does_not_verify(log_path, tsa):
    other = TsaServer()
    try:
        fill(log_path, 5, tsa=TimestampAuthority(tsa.url))
        assert verify_tlog(log_path, tsa_roots=[other.root]).status is VerifyStatus.BAD_TIMESTAMP
    finally:
        other.close()
    side = sidecar_path(log_path)
    lines = read_lines(side)
    for i, line in enumerate(lines):
        entry = json.loads(line)
        if entry["type"] == "timestamp":
            token = bytearray(base64.b64decode(entry["token"]))
            token[-40] ^= 1  # one bit of the signature
            entry["token"] = base64.b64encode(bytes(token)).decode()
            lines[i] = (json.dumps(entry, sort_keys=True) + "\n").encode()
    side.write_bytes(b"".join(lines))
    assert verify_tlog(log_path, tsa_roots=[tsa.root]).status is VerifyStatus.BAD_TIMESTAMP


def test_tail_truncation_is_caught_by_a_timestamped_checkpoint(log_path, tsa):
    fill(log_path, 20, tsa=TimestampAuthority(tsa.url))
    log_path.write_bytes(b"".join(read_lines(log_path)[:15]))
    report = verify_tlog(log_path, tsa_roots=[tsa.root])
    assert report.status is VerifyStatus.TRUNCATED and "5 record(s) missing" in report.problem


def test_a_failing_tsa_is_recorded_and_not_fatal(log_path, tsa):
    tsa.fail = True
    log = fill(log_path, 5, tsa=TimestampAuthority(tsa.url), witness_timeout=2)
    assert log.timestamp_stats[1] >= 1
    errors = [e for e in read_sidecar(sidecar_path(log_path)) if e.type == "timestamp_error"]
    assert errors and "503" in errors[0].data["error"]
    assert verify_tlog(log_path).ok
    assert verify_tlog(log_path, tsa_roots=[tsa.root]).status is VerifyStatus.UNTIMESTAMPED
    assert os.path.exists(log_path)
