"""The guarantees of the transparency log, one test each (issue 11), plus the pieces.

A forger here holds everything the operator holds: the log, the sidecar and
the signing key. What they do not hold is a checkpoint kept elsewhere, or a
witness.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from crawler_compliance.audit import AuditLog
from crawler_compliance.audit._checkpoints import read_sidecar, sidecar_path
from crawler_compliance.audit._merkle import HashSource, leaf_hash
from crawler_compliance.audit._note import Note, SignatureType, Signer, TreeHead, Verifier
from crawler_compliance.audit._tlog import (
    OldCheckpoint,
    ProofBundleError,
    latest_checkpoint,
    prove,
    verify_bundle,
    verify_tlog,
)
from crawler_compliance.audit._verify import SignatureStatus, VerifyStatus
from crawler_compliance.audit._witness import Witness, add_checkpoint

from .audit_helpers import make_decision, read_lines, rechain, records, ticking_clock
from .witness_server import WitnessServer

ORIGIN = "example.org/crawler-audit"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture
def witness(signer: Signer):
    server = WitnessServer("witness.example/w1", [signer.verifier()])
    yield server
    server.close()


def fill(path: Path, count: int, *, start: int = 0, host: str = "www.example.com", **kw):
    kw.setdefault("clock", ticking_clock())
    with AuditLog(path, **kw) as log:
        for i in range(start, start + count):
            log.append(
                make_decision(f"https://{host}/p{i}", deny=bool(i % 2), host=host),
                kind="page",
                spider="demo",
            )
    return log


def entries(path: Path, kind: str) -> list:
    return [
        e for e in read_sidecar(sidecar_path(path)) if not isinstance(e, str) and e.type == kind
    ]


# -- the writer ------------------------------------------------------------------


def test_checkpoints_at_start_every_n_and_close_match_the_tree(log_path, signer):
    fill(log_path, 25, signer=signer, checkpoint_every=10)
    sizes = [e.head.size for e in entries(log_path, "checkpoint")]
    assert sizes == [0, 10, 20, 25]
    tree = HashSource([leaf_hash(line[:-1]) for line in read_lines(log_path)])
    for entry in entries(log_path, "checkpoint"):
        assert entry.head.origin == ORIGIN
        assert entry.head.root == tree.root(entry.head.size)
        assert entry.note.verified_by([signer.verifier()]) == {ORIGIN: 0}
    assert stat.S_IMODE(os.stat(sidecar_path(log_path)).st_mode) == 0o600


def test_records_carry_run_and_kind(log_path):
    fill(log_path, 2)
    fill(log_path, 1)
    recs = records(log_path)
    assert all(r["kind"] == "page" and len(r["run"]) == 16 for r in recs)
    assert recs[0]["run"] == recs[1]["run"] != recs[2]["run"]
    assert verify_tlog(log_path).ok


def test_reopening_continues_the_tree_from_the_sidecar_or_rebuilds_it(log_path):
    fill(log_path, 7)
    fill(log_path, 5, start=7)
    os.unlink(sidecar_path(log_path))  # an old log, or a lost sidecar: rebuilt once
    fill(log_path, 4, start=12, max_bytes=3000)
    tree = HashSource([leaf_hash(r[:-1]) for f in _files(log_path) for r in read_lines(f)])
    last = entries(log_path, "checkpoint")[-1].head
    assert last.size == 16 and last.root == tree.root()
    assert verify_tlog(log_path).ok


def _files(path: Path) -> list[Path]:
    from crawler_compliance.audit import log_files

    return log_files(path)


def test_unsigned_log_says_unsigned(log_path, run_cli):
    fill(log_path, 3)
    report = verify_tlog(log_path)
    assert report.ok and report.signature is SignatureStatus.UNSIGNED
    code, out, _ = run_cli("audit", "verify", log_path)
    assert code == 0 and "unsigned" in out


# -- guarantees: edits to the records ---------------------------------------------


def _edit(lines: list[bytes], how: str) -> list[bytes]:
    recs = [json.loads(x) for x in lines]
    if how == "edited":
        recs[3]["verdict"] = "allow"
        return rechain(recs)  # hashes and chain recomputed
    if how == "deleted":
        return rechain(recs[:3] + recs[4:])
    if how == "inserted":
        return rechain(recs[:3] + [dict(recs[3], url="https://www.example.com/x")] + recs[3:])
    assert how == "reordered"
    return rechain(recs[:2] + [recs[3], recs[2]] + recs[4:])


@pytest.mark.parametrize("how", ["edited", "deleted", "inserted", "reordered"])
def test_rewritten_records_are_caught_by_the_signed_checkpoints(log_path, signer, how):
    fill(log_path, 10, signer=signer)
    log_path.write_bytes(b"".join(_edit(read_lines(log_path), how)))
    report = verify_tlog(log_path, key=signer.verifier())
    # Even with every hash recomputed, the tree no longer matches the signed roots
    # (a reordering also shows in the timestamps).
    assert not report.ok
    expected = {VerifyStatus.REWRITTEN, VerifyStatus.TRUNCATED}
    if how == "reordered":
        expected.add(VerifyStatus.TAMPERED)
    assert report.status in expected


@pytest.mark.parametrize("how", ["edited", "deleted", "inserted", "reordered"])
def test_plain_edits_break_the_chain(log_path, how):
    fill(log_path, 10)
    lines = read_lines(log_path)
    if how == "edited":
        lines[3] = lines[3].replace(b'"verdict":"deny"', b'"verdict":"allow"')
    elif how == "deleted":
        del lines[3]
    elif how == "inserted":
        lines.insert(3, lines[2])
    else:
        lines[2], lines[3] = lines[3], lines[2]
    log_path.write_bytes(b"".join(lines))
    assert verify_tlog(log_path).status is VerifyStatus.TAMPERED


# -- guarantees: witnesses and checkpoints kept elsewhere --------------------------


def _cosigned(path: Path) -> str:
    return entries(path, "cosigned")[-1].data["note"]


def test_tail_truncation_is_caught_by_a_witnessed_checkpoint(
    log_path, signer, witness, tmp_path, run_cli
):
    fill(
        log_path, 30, signer=signer, witnesses=[Witness.parse(witness.config)], checkpoint_every=10
    )
    kept = tmp_path / "cosigned.checkpoint"
    kept.write_text(_cosigned(log_path))  # e.g. fetched from the witness, or mailed
    assert TreeHead.parse(Note.parse(kept.read_text()).text).size == 30
    # The operator cuts the last 8 records, and the sidecar with them.
    log_path.write_bytes(b"".join(read_lines(log_path)[:22]))
    os.unlink(sidecar_path(log_path))
    assert verify_tlog(log_path).ok  # on its own the log looks fine
    old = OldCheckpoint.parse(kept.read_text(), str(kept))
    report = verify_tlog(
        log_path, key=signer.verifier(), from_checkpoint=old, witnesses=[witness.verifier]
    )
    assert report.status is VerifyStatus.TRUNCATED and "8 record(s) missing" in report.problem
    vkey = tmp_path / "log.vkey"
    vkey.write_text(signer.verifier().text)
    code, out, _ = run_cli(
        "audit",
        "verify",
        log_path,
        "--from",
        kept,
        "--key",
        vkey,
        "--witness",
        witness.verifier.text,
    )
    assert code == 1 and out.startswith("TRUNCATED: ")


def test_full_rewrite_with_the_key_is_caught_by_an_earlier_cosigned_checkpoint(
    log_path, signer, witness, tmp_path
):
    witnesses = [Witness.parse(witness.config)]
    fill(log_path, 20, signer=signer, witnesses=witnesses)
    earlier = OldCheckpoint.parse(_cosigned(log_path), "earlier cosigned checkpoint")
    # The forger rewrites the whole log from scratch, with the real signing key:
    # a denial becomes an allow, every hash and every checkpoint recomputed.
    for f in _files(log_path):
        f.unlink()
    sidecar_path(log_path).unlink()
    forged = fill(log_path, 20, signer=signer, witnesses=witnesses, host="www.example.net")
    assert verify_tlog(log_path, key=signer.verifier()).ok  # self-consistent forgery
    report = verify_tlog(log_path, key=signer.verifier(), from_checkpoint=earlier)
    assert report.status is VerifyStatus.REWRITTEN
    # ...and the witness refused to cosign the forgery.
    assert forged.witness_stats == (0, forged.witness_stats[1]) and forged.witness_stats[1] >= 1
    assert not entries(log_path, "cosigned")
    errors = [e.data["error"] for e in entries(log_path, "witness_error")]
    assert any("fork" in error for error in errors), errors


def test_a_fork_is_refused_by_the_witness(tmp_path, signer, witness):
    a, b = tmp_path / "a" / "audit.jsonl", tmp_path / "b" / "audit.jsonl"
    fill(a, 12, signer=signer, origin=ORIGIN)
    fill(b, 12, signer=signer, origin=ORIGIN, host="www.example.net")
    note_a, note_b = latest_checkpoint(a).note.render(), latest_checkpoint(b).note.render()
    assert (
        TreeHead.parse(Note.parse(note_a).text).size == TreeHead.parse(Note.parse(note_b).text).size
    )
    w = Witness.parse(witness.config)
    status, _, body = add_checkpoint(w, 0, [], note_a, 5)
    assert status == 200 and body.startswith("\u2014 witness.example/w1 ")
    # Same size, other records: the witness will not cosign both views.
    assert add_checkpoint(w, 12, [], note_b, 5)[0] == 409
    status, ctype, body = add_checkpoint(w, 0, [], note_b, 5)
    assert (status, ctype, body) == (409, "text/x.tlog.size", "12\n")


def test_witness_quorum(log_path, signer, witness):
    other = WitnessServer("witness.example/w2", [signer.verifier()])
    try:
        fill(log_path, 5, signer=signer, witnesses=[Witness.parse(witness.config)])
        both = [witness.verifier, other.verifier]
        assert verify_tlog(log_path, witnesses=both, quorum=1).ok
        report = verify_tlog(log_path, witnesses=both)
        assert report.status is VerifyStatus.UNWITNESSED
    finally:
        other.close()


def test_witness_network_never_holds_up_appends(log_path, signer, witness):
    witness.gate.clear()  # the witness hangs on every request
    log = AuditLog(
        log_path, signer=signer, checkpoint_every=10, witnesses=[Witness.parse(witness.config)]
    )
    for i in range(50):
        log.append(make_decision(f"https://www.example.com/{i}"))
    assert not entries(log_path, "cosigned")  # all 50 written while the witness hangs
    witness.gate.set()
    log.close()
    assert entries(log_path, "cosigned")[-1].head.size == 50


def test_an_unreachable_witness_is_recorded_not_fatal(log_path, signer):
    dead = Witness.parse(
        f"{Signer.generate('w.example/x', SignatureType.COSIGNATURE_V1).verifier().text} http://127.0.0.1:9"
    )
    log = fill(log_path, 5, signer=signer, witnesses=[dead], witness_timeout=2)
    assert log.witness_stats[1] >= 1
    assert entries(log_path, "witness_error")
    assert verify_tlog(log_path, key=signer.verifier()).ok


def test_the_spec_example_request_is_parsed_and_refused_for_an_unknown_log(witness):
    # The add-checkpoint example body of c2sp.org/tlog-witness.
    body = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        "\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4"
        "URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    ).encode()
    assert witness.add_checkpoint("/add-checkpoint", body)[0] == 404
    sofa = Signer.generate("example.com/behind-the-sofa")
    witness.logs["example.com/behind-the-sofa"] = [sofa.verifier()]
    assert witness.add_checkpoint("/add-checkpoint", body)[0] == 403  # not its key


# -- guarantees: proofs ------------------------------------------------------------


def test_one_decision_is_proven_without_the_rest_of_the_log(log_path, signer, tmp_path, run_cli):
    with AuditLog(log_path, signer=signer) as log:
        for i in range(100):
            host = f"client{i}.example"
            log.append(make_decision(f"https://{host}/secret-{i}", deny=i == 41, host=host))
    code, out, _ = run_cli("audit", "prove", log_path, "42")
    assert code == 0
    bundle = json.loads(out)
    assert set(bundle) == {"record", "leaf_index", "tree_size", "inclusion", "checkpoint"}
    assert bundle["leaf_index"] == 41 and bundle["tree_size"] == 100
    assert len(bundle["inclusion"]) == 7  # ceil(log2(100)) hashes
    assert "client41.example" in out
    assert not any(f"client{i}.example" in out for i in range(100) if i != 41)
    proven = verify_bundle(out, signer.verifier())
    assert proven.record["seq"] == 42 and proven.record["verdict"] == "deny"
    path = tmp_path / "bundle.json"
    path.write_text(out)
    code, said, _ = run_cli("audit", "verify-proof", path, "--key", signer.verifier().text)
    assert code == 0 and said.startswith("PROVEN: record seq 42")
    assert "decision: DENY https://client41.example/secret-41" in said


def _variants(text: str):
    for i, ch in enumerate(text):
        yield text[:i] + ("B" if ch == "A" else "A") + text[i + 1 :]


def test_a_proof_fails_when_any_byte_changes(log_path, signer):
    fill(log_path, 37, signer=signer)
    bundle = prove(log_path, 19)
    key = signer.verifier()
    verify_bundle(dict(bundle), key)
    for field in ("record", "checkpoint"):
        for changed in _variants(bundle[field]):
            with pytest.raises(ProofBundleError):
                verify_bundle(dict(bundle, **{field: changed}), key)
    for i, h in enumerate(bundle["inclusion"]):
        for j in range(len(h)):
            bad = list(bundle["inclusion"])
            bad[i] = h[:j] + ("0" if h[j] != "0" else "1") + h[j + 1 :]
            with pytest.raises(ProofBundleError):
                verify_bundle(dict(bundle, inclusion=bad), key)
    for index in (17, 19, 36):
        with pytest.raises(ProofBundleError):
            verify_bundle(dict(bundle, leaf_index=index), key)
    with pytest.raises(ProofBundleError):  # another key
        verify_bundle(bundle, Signer.generate(ORIGIN).verifier())


def test_an_unsigned_checkpoint_proves_nothing(log_path):
    fill(log_path, 3)
    with pytest.raises(ProofBundleError, match="unsigned"):
        verify_bundle(prove(log_path, 2), Signer.generate(ORIGIN).verifier())


def test_consistency_cli(log_path, signer, tmp_path, run_cli):
    fill(log_path, 6, signer=signer)
    old = tmp_path / "old.checkpoint"
    old.write_text(latest_checkpoint(log_path).note.render())
    fill(log_path, 9, start=6, signer=signer)
    code, out, _ = run_cli("audit", "consistency", log_path, "--from", old)
    assert code == 0
    proof = json.loads(out)
    assert (proof["old_size"], proof["tree_size"]) == (6, 15) and proof["consistency"]
    code, out, _ = run_cli(
        "audit", "verify", log_path, "--from", old, "--key", signer.verifier().text
    )
    assert code == 0 and "extends" in out
    log_path.write_bytes(
        b"".join(rechain([dict(r, url="https://x.example/") for r in records(log_path)]))
    )
    code, out, _ = run_cli("audit", "consistency", log_path, "--from", old)
    assert code == 1 and out.startswith("INCONSISTENT: rewritten")


def test_keygen(tmp_path, run_cli):
    out = tmp_path / "log.key"
    code, vkey, _ = run_cli("audit", "keygen", "example.org/log", "--out", out)
    assert code == 0
    verifier = Verifier.parse(vkey)
    assert verifier.name == "example.org/log" and verifier.kind is SignatureType.ED25519
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert Signer.parse(out.read_text()).verifier() == verifier
    assert run_cli("audit", "keygen", "example.org/log", "--out", out)[0] == 2  # never overwritten
    assert Signer.parse(out.read_text()).verifier() == verifier


def test_a_torn_sidecar_entry_is_dropped_not_called_tampering(log_path, signer):
    fill(log_path, 5, signer=signer)
    with open(sidecar_path(log_path), "ab") as f:
        f.write(b'{"note":"example.org/crawler-audit\\n7')  # power lost mid-write
    assert verify_tlog(log_path, key=signer.verifier()).ok
    fill(log_path, 3, start=5, signer=signer)  # reopening cuts it and goes on
    assert verify_tlog(log_path, key=signer.verifier()).ok
    assert all(line.endswith(b"\n") for line in read_lines(sidecar_path(log_path)))


def test_memoised_reasons_are_recorded_exactly_and_independently(log_path):
    from crawler_compliance._decision import Check, Reason, decide

    shared = Reason(Check.ROBOTS, "allow", "see https://u:pw@www.example.com/robots.txt")
    odd = Reason(Check.ROBOTS, "info", "x", extra=(("list", [1, 2]),))  # unhashable extra
    with AuditLog(log_path) as log:
        first = log.append(decide("https://www.example.com/a", [shared, odd]))
        first.record["reasons"][0]["message"] = "mutated by a caller"
        log.append(decide("https://www.example.com/b", [shared, odd]))
    recs = records(log_path)
    assert recs[0]["reasons"] == recs[1]["reasons"]
    assert recs[1]["reasons"][0]["message"] == "see https://REDACTED@www.example.com/robots.txt"
    assert recs[1]["reasons"][1]["list"] == [1, 2]
    assert verify_tlog(log_path).ok


def test_a_key_with_no_checkpoint_to_check_fails(log_path, signer):
    fill(log_path, 3, signer=signer)
    sidecar_path(log_path).unlink()
    report = verify_tlog(log_path, key=signer.verifier())
    assert report.status is VerifyStatus.BAD_SIGNATURE and "missing or empty" in report.problem


def test_verify_json_reports_the_tree_and_the_typed_status(log_path, signer, run_cli):
    fill(log_path, 4, signer=signer)
    code, out, _ = run_cli("audit", "verify", log_path, "--json", "--key", signer.verifier().text)
    data = json.loads(out)
    assert code == 0 and data["status"] == "OK" and data["signature"] == "signed"
    assert data["tree_size"] == 4 and data["checkpoints"] == 2
    tree = HashSource([leaf_hash(line[:-1]) for line in read_lines(log_path)])
    assert data["root"] == tree.root().hex()
    log_path.write_bytes(b"".join(read_lines(log_path)[:2]))
    code, out, _ = run_cli("audit", "verify", log_path, "--json")
    assert code == 1 and json.loads(out)["status"] == "TRUNCATED"


def test_a_bundle_carries_the_witness_cosignatures(log_path, signer, witness, tmp_path, run_cli):
    fill(log_path, 9, signer=signer, witnesses=[Witness.parse(witness.config)])
    bundle = prove(log_path, 4)  # the newest checkpoint is the cosigned one
    proven = verify_bundle(bundle, signer.verifier(), witnesses=[witness.verifier])
    assert proven.witnessed_by == {"witness.example/w1": 9}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    args = ["audit", "verify-proof", path, "--key", signer.verifier().text]
    code, out, _ = run_cli(*args, "--witness", witness.verifier.text)
    assert code == 0 and "witnessed by: witness.example/w1" in out
    stranger = Signer.generate("witness.example/w9", SignatureType.COSIGNATURE_V1).verifier()
    code, out, _ = run_cli(*args, "--witness", witness.verifier.text, "--witness", stranger.text)
    assert code == 1 and out.startswith("NOT PROVEN: only 1 of the 2")


def test_an_unopenable_checkpoint_file_is_a_clear_audit_error(log_path):
    from crawler_compliance.audit import AuditLogError

    log_path.parent.mkdir(parents=True)
    sidecar_path(log_path).mkdir()
    with pytest.raises(AuditLogError, match="checkpoint file"):
        AuditLog(log_path)
    fill(log_path.with_name("other.jsonl"), 1)  # the lock was released, nothing leaked
