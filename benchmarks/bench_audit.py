"""Audit log cost: µs per append (batched fsync), the transparency log, verification.

    python benchmarks/bench_audit.py [--records N] [--big N]

Figures are printed side by side in one run: append with the default batched
fsync (every 100 records), with no fsync at all (the floor: serialise, hash,
write), with an fsync per record (what batching saves), the redaction alone,
and verification. Then the transparency log: a plain JSON Lines writer (same
fields, same fsync batching) beside the audit log with its Merkle tree and
signed checkpoints every 1,000 records (target: at most 1.5x), and on a log of
``--big`` records (default 1,000,000): the inclusion proof's size (target: at
most 20 hashes), the time to verify a proof bundle (target: under 10 ms) and
``verify`` throughput with the tree and checkpoints (target: 200,000 records/s).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from crawler_compliance._decision import Check, Reason, decide
from crawler_compliance.audit import AuditLog, Redactor, redact_url, verify_log
from crawler_compliance.audit._note import Signer
from crawler_compliance.audit._tlog import prove, verify_bundle, verify_tlog

DECISIONS = [
    decide(
        "https://www.example.com/articles/2024/some-story?page=2&session=abc123",
        [
            Reason(Check.REGISTRY, "info", "no notice covers example.com"),
            Reason(
                Check.ROBOTS,
                "allow",
                "allowed by robots.txt",
                rule="Allow: /articles/",
                source="https://www.example.com/robots.txt",
                line=7,
            ),
        ],
        host="www.example.com",
        registrable_domain="example.com",
        robots_fingerprint="9" * 64,
        robots_status="200",
    ),
    decide(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        [
            Reason(
                Check.REGISTRY,
                "deny",
                "covered by cease-and-desist notice google-2024-03",
                rule="google-2024-03",
                source="policies/notices/google.yaml",
                line=4,
            )
        ],
        host="www.youtube.com",
        registrable_domain="youtube.com",
    ),
]


def bench_append(
    directory: Path, name: str, count: int, clock: object = time.perf_counter, **kwargs: object
) -> float:
    path = directory / f"{name}.jsonl"
    log = AuditLog(path, **kwargs)  # type: ignore[arg-type]
    append = log.append
    start = clock()  # type: ignore[operator]
    for i in range(count):
        append(DECISIONS[i & 1], spider="bench", purpose="search", policy_fingerprint="a" * 64)
    log.close()
    return (clock() - start) / count * 1e6  # type: ignore[operator]


def bench_plain(
    directory: Path, count: int, sync_every: int = 100, clock: object = time.perf_counter
) -> float:
    """A plain JSON Lines writer: the same record fields, json.dumps, one write, fsync/100."""
    path = directory / f"plain-{sync_every}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    dumps = json.dumps
    start = clock()  # type: ignore[operator]
    for i in range(count):
        d = DECISIONS[i & 1]
        record = {
            "v": 2,
            "seq": i + 1,
            "ts": time.time(),
            "spider": "bench",
            "url": d.url,
            "host": d.host,
            "registrable_domain": d.registrable_domain,
            "purpose": "search",
            "verdict": d.verdict.value,
            "reasons": [r.to_dict() for r in d.reasons],
            "policy_fingerprint": "a" * 64,
            "robots_fingerprint": d.robots_fingerprint,
            "robots_status": d.robots_status,
            "offline": False,
        }
        os.write(fd, (dumps(record) + "\n").encode())
        if i % sync_every == sync_every - 1:
            os.fsync(fd)
    os.fsync(fd)
    os.close(fd)
    return (clock() - start) / count * 1e6  # type: ignore[operator]


def bench_transparency(directory: Path, n: int, big: int) -> None:
    signer = Signer.generate("bench.example/audit")
    # Wall clock includes the fsync waits; CPU time (this process only) is the
    # writer's own work and is the steadier figure on a shared machine.
    cpu = time.process_time
    plain = bench_plain(directory, n)
    tree = bench_append(directory, "tree", n, fsync_every=100, signer=signer)
    plain_cpu = bench_plain(directory, n, clock=cpu)
    tree_cpu = bench_append(directory, "tree-cpu", n, cpu, fsync_every=100, signer=signer)
    print(f"transparency log ({n} records; proofs and verify on {big} records)")
    print(f"  plain JSON Lines writer, fsync/100        {plain:8.2f} µs/record wall")
    print(
        f"  audit log + tree + signed checkpoints     {tree:8.2f} µs/record wall "
        f"({tree / plain:.2f}x plain)"
    )
    print(f"  plain JSON Lines writer, fsync/100        {plain_cpu:8.2f} µs/record CPU")
    print(
        f"  audit log + tree + signed checkpoints     {tree_cpu:8.2f} µs/record CPU "
        f"({tree_cpu / plain_cpu:.2f}x plain; target <= 1.5x)"
    )
    path = directory / "big.jsonl"
    start = time.perf_counter()
    bench_append(directory, "big", big, fsync_every=1000, signer=signer)
    written = time.perf_counter() - start
    start = time.perf_counter()
    bundle = prove(path, big // 2 + 1)
    proving = time.perf_counter() - start
    key = signer.verifier()
    text = json.dumps(bundle)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        verify_bundle(text, key)
    per_proof = (time.perf_counter() - start) / runs * 1e3
    start = time.perf_counter()
    report = verify_tlog(path, key=key)
    elapsed = time.perf_counter() - start
    assert report.ok, report.problem
    print(f"  writing the {big}-record log             {written:8.1f} s")
    print(
        f"  inclusion proof at {big} records          {len(bundle['inclusion']):8d} hashes "
        f"(target <= 20; bundle {len(text)} bytes; built in {proving:.1f} s)"
    )
    print(f"  verify-proof (bundle + key)               {per_proof:8.3f} ms (target < 10 ms)")
    rate = big / elapsed
    print(
        f"  verify, chain + tree + {report.checkpoints} checkpoints {rate:8.0f} records/s "
        "(target >= 200,000)"
    )


def hostile_redaction() -> list[tuple[str, float]]:
    """Redaction of hostile inputs: linear time (was quadratic: 13 s for one crawl)."""
    hop = "https://h.example/r'" + "a" * 50_000 + "?token=x"
    cases = [
        (
            "redact 20-hop hostile redirect reasons",
            [f"redirected from {hop}{i}" for i in range(20)],
        ),
        ("redact 1 MB text after a quote", ["from http://h/x'" + "a" * 1_000_000]),
        ("redact 1 MB text of '://'", ["a://" * 250_000]),
        ("redact 1 MB query of 100k params", ["https://h/?" + "&token=1" * 125_000]),
    ]
    figures = []
    for label, texts in cases:
        redactor = Redactor()  # no cache shared between cases
        start = time.perf_counter()
        for text in texts:
            redactor.text(text + str(len(texts)))
        figures.append((label, time.perf_counter() - start))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument(
        "--big", type=int, default=1_000_000, help="records in the log for proofs and verify"
    )
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        bench_append(directory, "warmup", 2000)
        batched = bench_append(directory, "batched", n, fsync_every=100)
        no_sync = bench_append(
            directory, "nosync", n, fsync_every=10**9, fsync_interval=float("inf")
        )
        per_record_n = max(200, n // 50)
        per_record = bench_append(directory, "each", per_record_n, fsync_every=1)
        rotated = bench_append(directory, "rotated", n, fsync_every=100, max_bytes=1 << 20)

        url = DECISIONS[0].url
        start = time.perf_counter()
        for _ in range(n):
            redact_url(url)
        redact = (time.perf_counter() - start) / n * 1e6

        hostile = hostile_redaction()

        path = directory / "batched.jsonl"
        size = os.path.getsize(path)
        start = time.perf_counter()
        report = verify_log(path)
        elapsed = time.perf_counter() - start
        assert report.ok and report.intact == n, report.problem
        rotated_report = verify_log(directory / "rotated.jsonl")
        assert rotated_report.ok, rotated_report.problem

    print(f"audit log benchmark ({n} records, {size / n:.0f} bytes per record)")
    print(f"  append, fsync every 100 records (default) {batched:8.2f} µs/record")
    print(f"  append, no fsync (serialise+hash+write)   {no_sync:8.2f} µs/record")
    print(
        f"  append, fsync every record                {per_record:8.2f} µs/record "
        f"({per_record / batched:.0f}x the batched cost)"
    )
    print(
        f"  append, rotating every 1 MiB              {rotated:8.2f} µs/record "
        f"({len(rotated_report.files)} files)"
    )
    print(f"  redact_url alone (fresh Redactor)         {redact:8.2f} µs/URL")
    for label, seconds in hostile:
        print(f"  {label:<42}{seconds * 1e3:8.2f} ms")
    print(
        f"  verify                                    {n / elapsed:8.0f} records/s "
        f"({size / elapsed / 1e6:.1f} MB/s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench_transparency(Path(tmp), n, args.big)


if __name__ == "__main__":
    main()
