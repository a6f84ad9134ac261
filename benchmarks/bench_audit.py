"""Audit log cost: µs per append (batched fsync) and verification rate.

    python benchmarks/bench_audit.py [--records N]

Figures are printed side by side in one run: append with the default batched
fsync (every 100 records), with no fsync at all (the floor: serialise, hash,
write), with an fsync per record (what batching saves), the redaction alone,
and verification.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from crawler_compliance._decision import Check, Reason, decide
from crawler_compliance.audit import AuditLog, Redactor, redact_url, verify_log

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


def bench_append(directory: Path, name: str, count: int, **kwargs: object) -> float:
    path = directory / f"{name}.jsonl"
    log = AuditLog(path, **kwargs)  # type: ignore[arg-type]
    append = log.append
    start = time.perf_counter()
    for i in range(count):
        append(DECISIONS[i & 1], spider="bench", purpose="search", policy_fingerprint="a" * 64)
    log.close()
    return (time.perf_counter() - start) / count * 1e6


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


if __name__ == "__main__":
    main()
