"""``crawler-compliance audit keygen | prove | verify-proof | consistency`` and the
checkpoint options of ``audit verify`` (``--key``, ``--from``, ``--witness``, ``--quorum``).

Exit codes: 0 verified / written; 1 does not verify (tampered, truncated,
rewritten, unsigned, not witnessed); 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from crawler_compliance.audit._note import NoteError, SignatureType, Signer, Verifier
from crawler_compliance.audit._tlog import (
    MAX_BUNDLE_BYTES,
    OldCheckpoint,
    ProofBundleError,
    consistency,
    load_verifier,
    prove,
    verify_bundle,
    verify_tlog,
)
from crawler_compliance.audit._verify import SignatureStatus, VerifyReport, VerifyStatus
from crawler_compliance.cli import EXIT_DENIED as EXIT_FAILED
from crawler_compliance.cli import EXIT_OK, EXIT_USAGE
from crawler_compliance.cli._output import print_line as _print
from crawler_compliance.cli._output import safe as _safe
from crawler_compliance.cli._output import write as _out

_MAX_CHECKPOINT_FILE = 64 * 1024


def register(commands: Any, verify: argparse.ArgumentParser) -> None:
    """Add the proof commands to ``audit`` and the checkpoint options to ``audit verify``."""
    _verify_options(verify)

    keygen = commands.add_parser(
        "keygen",
        help="make a signing key for checkpoints (prints the verifier key)",
        description="Write an Ed25519 private key (owner-only file, never overwritten) and "
        "print its C2SP verifier key (NAME+KEYID+BASE64). Give the private key file to the "
        "crawl with COMPLIANCE_AUDIT_SIGNING_KEY; give the verifier key to whoever checks.",
    )
    keygen.add_argument("name", metavar="NAME", help="key name, e.g. example.com/crawler-log")
    keygen.add_argument("--out", metavar="FILE", help="private key file (default NAME.key)")
    keygen.add_argument(
        "--witness", action="store_true", help="a witness cosigning key (type 0x04) instead"
    )
    keygen.set_defaults(handler=_keygen)

    prove_cmd = commands.add_parser(
        "prove",
        help="write a proof bundle for one record",
        description="Print a JSON proof bundle for record SEQ: the record, its RFC 9162 "
        "inclusion proof and the signed checkpoint it is proven against (the newest in "
        "LOG.checkpoints unless --checkpoint names one). Nothing else of the log is in it.",
    )
    prove_cmd.add_argument("file", metavar="LOG")
    prove_cmd.add_argument("seq", metavar="SEQ", type=_positive)
    prove_cmd.add_argument("--checkpoint", metavar="FILE", help="a checkpoint note file")
    prove_cmd.set_defaults(handler=_prove)

    check = commands.add_parser(
        "verify-proof",
        help="check a proof bundle with the log's verifier key",
        description="Check a proof bundle using only the bundle and the verifier key "
        "(and witness keys), and say what the record decided. Exit 0 proven, 1 not.",
    )
    check.add_argument("bundle", metavar="BUNDLE")
    check.add_argument("--key", metavar="VKEY", required=True, help="verifier key or its file")
    _witness_options(check)
    check.add_argument("--json", action="store_true", help="print the proven record as JSON")
    check.set_defaults(handler=_verify_proof)

    cons = commands.add_parser(
        "consistency",
        help="prove the log extends an older checkpoint",
        description="Print an RFC 9162 consistency proof from OLD_CHECKPOINT to the newest "
        "checkpoint of LOG. Exit 1 when the log does not extend it (truncated or rewritten).",
    )
    cons.add_argument("file", metavar="LOG")
    cons.add_argument("--from", dest="old", metavar="OLD_CHECKPOINT", required=True)
    cons.set_defaults(handler=_consistency)


def _verify_options(verify: argparse.ArgumentParser) -> None:
    verify.add_argument(
        "--from",
        dest="old",
        metavar="OLD_CHECKPOINT",
        help="a checkpoint note kept elsewhere (from the crawl's stats, a witness, a "
        "ticket): fails when the log no longer extends it (truncated or rewritten)",
    )
    verify.add_argument(
        "--key", metavar="VKEY", help="the log's verifier key: every checkpoint must be signed"
    )
    _witness_options(verify)
    verify.add_argument(
        "--tsa-cert",
        metavar="PEM",
        action="append",
        default=[],
        help="a root certificate of the TSA (repeatable): every RFC 3161 timestamp in "
        "the sidecar must verify against it, and there must be one",
    )
    verify.set_defaults(handler=_verify)


def _witness_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--witness",
        metavar="VKEY",
        action="append",
        default=[],
        help="a witness's verifier key (repeat for several)",
    )
    parser.add_argument(
        "--quorum",
        metavar="K",
        type=_positive,
        help="how many of the --witness keys must have cosigned (default: all)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _err(message: str) -> None:
    _out(_safe(f"crawler-compliance audit: {message}") + "\n", sys.stderr)


def _read_text(path: str, limit: int) -> str:
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ProofBundleError(f"{path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProofBundleError(f"{path} is not UTF-8 text") from None


def _old(path: str) -> OldCheckpoint:
    return OldCheckpoint.parse(_read_text(path, _MAX_CHECKPOINT_FILE), path)


def _keys(args: argparse.Namespace) -> tuple[Verifier | None, list[Verifier]]:
    key = load_verifier(args.key) if getattr(args, "key", None) else None
    witnesses = [load_verifier(w) for w in args.witness]
    for witness in witnesses:
        if witness.kind is not SignatureType.COSIGNATURE_V1:
            raise ProofBundleError(f"{witness.name}: a witness key has type 0x04 (cosignature)")
    if args.quorum is not None and args.quorum > len(witnesses):
        raise ProofBundleError(
            f"--quorum {args.quorum} asks for more witnesses than --witness names"
        )
    return key, witnesses


def _certificate(path: str) -> x509.Certificate:
    data = _read_text(path, _MAX_CHECKPOINT_FILE).encode()
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ProofBundleError(f"{path} is not a PEM certificate") from None


def _keygen(args: argparse.Namespace) -> int:
    kind = SignatureType.COSIGNATURE_V1 if args.witness else SignatureType.ED25519
    try:
        signer = Signer.generate(args.name, kind)
    except NoteError as exc:
        _err(str(exc))
        return EXIT_USAGE
    out = Path(args.out or args.name.replace("/", "_") + ".key")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(out, flags, 0o600)
    except OSError as exc:
        _err(f"cannot create {out}: {exc.strerror or exc} (an existing key is never overwritten)")
        return EXIT_USAGE
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        os.write(fd, (signer.text + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _print(signer.verifier().text)
    _out(_safe(f"private key written to {out} (owner-only; keep it secret)") + "\n", sys.stderr)
    return EXIT_OK


def _prove(args: argparse.Namespace) -> int:
    try:
        old = _old(args.checkpoint) if args.checkpoint else None
        bundle = prove(args.file, args.seq, old)
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    except ProofBundleError as exc:
        _err(str(exc))
        return EXIT_FAILED
    _out(json.dumps(bundle, indent=2, ensure_ascii=True) + "\n")
    return EXIT_OK


def _verify_proof(args: argparse.Namespace) -> int:
    try:
        key, witnesses = _keys(args)
        with open(args.bundle, "rb") as handle:
            data = handle.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        _err(f"cannot read {args.bundle}: {exc.strerror or exc}")
        return EXIT_USAGE
    except ProofBundleError as exc:
        _err(str(exc))
        return EXIT_USAGE
    assert key is not None
    try:
        proven = verify_bundle(data, key, witnesses=witnesses, quorum=args.quorum)
    except ProofBundleError as exc:
        _print(_safe(f"NOT PROVEN: {exc}"))
        return EXIT_FAILED
    record = proven.record
    if args.json:
        _out(json.dumps(record, indent=2, ensure_ascii=True) + "\n")
        return EXIT_OK
    verdict = str(record.get("verdict"))
    _print(
        _safe(
            f"PROVEN: record seq {record['seq']} is entry {record['seq']} of "
            f"{proven.head.size} in the log {proven.head.origin!r}, signed by {proven.signed_by}"
        )
    )
    if proven.witnessed_by:
        _print(_safe(f"witnessed by: {', '.join(sorted(proven.witnessed_by))}"))
    _print(_safe(f"decision: {verdict.upper()} {record.get('url')} at {record.get('ts')}"))
    for reason in record.get("reasons") or []:
        if isinstance(reason, dict):
            rule = f" [{reason['rule']}]" if reason.get("rule") else ""
            check, outcome = reason.get("check"), reason.get("outcome")
            _print(_safe(f"  {check}: {outcome}: {reason.get('message')}{rule}"))
    return EXIT_OK


def _consistency(args: argparse.Namespace) -> int:
    try:
        old = _old(args.old)
        proof = consistency(args.file, old)
    except OSError as exc:
        _err(f"cannot read: {exc.strerror or exc}")
        return EXIT_USAGE
    except ProofBundleError as exc:
        _print(_safe(f"INCONSISTENT: {exc}"))
        return EXIT_FAILED
    _out(json.dumps(proof, indent=2, ensure_ascii=True) + "\n")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    try:
        key, witnesses = _keys(args)
        old = _old(args.old) if args.old else None
        roots = [_certificate(path) for path in args.tsa_cert]
    except OSError as exc:
        _err(f"cannot read: {exc.strerror or exc}")
        return EXIT_USAGE
    except ProofBundleError as exc:
        _err(str(exc))
        return EXIT_USAGE
    try:
        report = verify_tlog(
            args.file,
            key=key,
            from_checkpoint=old,
            witnesses=witnesses,
            quorum=args.quorum,
            checkpoint=args.checkpoint,
            tsa_roots=roots,
        )
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    if args.json:
        data = report._asdict()
        data["status"] = report.status.value
        data["signature"] = report.signature.value
        _out(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
        return EXIT_OK if report.ok else EXIT_FAILED
    _print_report(args, report, old)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_report(
    args: argparse.Namespace, report: VerifyReport, old: OldCheckpoint | None
) -> None:
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    if not report.ok:
        _print(_safe(f"{report.status.value}: {report.problem}"))
        _print(
            f"{report.intact} of {report.records} record(s) intact before the problem "
            f"({files}); last intact: seq {report.last_seq}"
        )
        if report.status is VerifyStatus.TORN:
            _print(
                "This is what a crash mid-write leaves behind: the records before the torn "
                "line are intact. Keep the file (and its rotated files) as evidence, and "
                "point the crawl at a NEW file name."
            )
        return
    reached = (
        f", reaches checkpoint seq {args.checkpoint.seq}" if args.checkpoint is not None else ""
    )
    _print(_safe(f"OK: {args.file}: {report.intact} record(s) in {files}, chain intact{reached}"))
    _print(f"checkpoint: {report.checkpoint}")
    _print(f"tree: size {report.tree_size}, root {report.root}")
    signature = report.signature.value
    if report.signature is SignatureStatus.SIGNED and args.key:
        signature = f"signed (verified with {load_verifier(args.key).name})"
    _print(f"checkpoints: {report.checkpoints}, {signature}")
    if old is not None:
        _print(_safe(f"extends: {old.source} (size {old.head.size})"))
    if report.timestamped:
        size, when = report.timestamped
        _print(f"timestamped: checkpoint of size {size} existed at {when} (RFC 3161)")
    if report.witnessed:
        names = ", ".join(f"{n} (size {s})" for n, s in sorted(report.witnessed.items()))
        _print(_safe(f"witnessed by: {names}"))
