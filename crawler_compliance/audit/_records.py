"""The record format shared by the writer, the verifier and the CLI.

One record is one JSON object on one line. Its ``hash`` is the SHA-256 of the
canonical JSON of the record without ``hash`` (keys sorted, separators
``(",", ":")``, ``ensure_ascii=False``, UTF-8). The line on disk *is* that
canonical text with ``,"hash":"…"`` spliced in before the closing brace, so
the writer serialises each record exactly once.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

SCHEMA_VERSION = 2
"""Version 2 added ``run`` (a random id per opened log) and the optional ``kind``."""
SUPPORTED_VERSIONS = (1, 2)
GENESIS_HASH = "0" * 64
"""The ``prev`` of the first record of a chain."""

# One encoder, built once: the C encoder is used for sort_keys as well.
# ``default=str`` so that an odd value in a Reason's ``extra`` (a date, a Path)
# is recorded as text rather than failing the append; the verifier re-encodes
# the parsed (already textual) value, so the hash still matches.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)

# ensure_ascii=False writes U+0085, U+2028 and U+2029 raw, and str.splitlines()
# (and JavaScript, and some log shippers) split a line at each of them: a
# robots.txt line carrying one would split a record in two. They are written
# as \u escapes (the only characters str.splitlines() splits at that JSON does
# not already escape). They can only occur inside JSON strings, so replacing
# them in the encoded text is exact.
_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _escape_breaks(text: str) -> str:
    # Three substring tests, not the regex: on a record-sized text they are
    # about 60 times faster (the regex scans character by character).
    if "\x85" not in text and "\u2028" not in text and "\u2029" not in text:
        return text
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def canonical_json(value: Any) -> str:
    """The canonical JSON text of *value* (see the module docstring)."""
    return _escape_breaks(_ENCODER.encode(value))


def legacy_canonical_json(value: Any) -> str:
    """Canonical JSON as writers before the line-break escaping wrote it (for verify)."""
    return _ENCODER.encode(value)


_SURROGATE = re.compile("[\ud800-\udfff]")
_encode_str = json.encoder.encode_basestring  # what the encoder uses for str (C)

RECORD_KEYS = (
    "host",
    "offline",
    "policy_fingerprint",
    "prev",
    "purpose",
    "reasons",
    "registrable_domain",
    "robots_fingerprint",
    "robots_status",
    "run",
    "seq",
    "spider",
    "ts",
    "url",
    "v",
    "verdict",
)
"""The keys of a record without ``hash``, sorted: the canonical order.

``kind`` (what the record is about: a page, our own fetch, ...) is written
between ``host`` and ``offline`` when the caller gives one.
"""
OPTIONAL_KEYS = frozenset({"kind", "page", "proxy", "vhost"})
"""Written only when set: the record kind, a subresource's page, the proxy, a Host vhost."""
V1_KEYS = frozenset(RECORD_KEYS) - {"run"}


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_str(value)
    return canonical_json(value)


def encode_record(r: dict[str, Any], reasons_json: str | None = None) -> str:
    """``canonical_json(r)`` for a record with exactly :data:`RECORD_KEYS`, by hand.

    The same text, about twice as fast as the general encoder on the append
    path (the tests compare the two on varied records). ``offline`` must be a
    bool and ``seq`` / ``v`` ints. ``reasons_json``, when given, is
    ``canonical_json(r["reasons"])`` already encoded.
    """
    return fill_template(record_template(r, reasons_json), r["prev"], r["seq"], r["ts"], r["url"])


Template = tuple[str, str, str, str, str]
"""A record's canonical text around the four values that change from record to record."""


def record_template(r: dict[str, Any], reasons_json: str | None = None) -> Template:
    """:func:`encode_record`'s text split around ``prev``, ``seq``, ``ts`` and ``url``.

    Everything else in a record repeats across a crawl's records (one host,
    one robots.txt verdict, one spider), so a writer can keep the template
    and fill in only those four (:func:`fill_template`). Line breaks are
    escaped here, piece by piece (they only occur inside strings, and no
    string straddles two pieces).
    """

    def optional(key: str) -> str:
        value = r.get(key)
        return "" if value is None else f',"{key}":{_value(value)}'

    if reasons_json is None:
        reasons_json = canonical_json(r["reasons"])
    return (
        _escape_breaks(
            f'{{"host":{_value(r["host"])}{optional("kind")},'
            f'"offline":{"true" if r["offline"] else "false"}{optional("page")},'
            f'"policy_fingerprint":{_value(r["policy_fingerprint"])},"prev":'
        ),
        _escape_breaks(
            f'{optional("proxy")},"purpose":{_value(r["purpose"])},"reasons":{reasons_json},'
            f'"registrable_domain":{_value(r["registrable_domain"])},'
            f'"robots_fingerprint":{_value(r["robots_fingerprint"])},'
            f'"robots_status":{_value(r["robots_status"])},"run":{_value(r["run"])},"seq":'
        ),
        _escape_breaks(f',"spider":{_value(r["spider"])},"ts":'),
        ',"url":',
        _escape_breaks(f',"v":{r["v"]:d},"verdict":{_value(r["verdict"])}{optional("vhost")}}}'),
    )


def fill_template(template: Template, prev: Any, seq: int, ts: Any, url: Any) -> str:
    """A record's canonical text from its template and its four changing values.

    The template's pieces are escaped already; escaping the whole text once
    leaves them as they are and escapes the values (one pass, not three).
    """
    head, before_seq, before_ts, before_url, tail = template
    # The writer's values are str (a hex digest, a timestamp, a URL): encoded in
    # line, without a call to _value each.
    prev = _encode_str(prev) if type(prev) is str else _value(prev)
    ts = _encode_str(ts) if type(ts) is str else _value(ts)
    url = _encode_str(url) if type(url) is str else _value(url)
    return _escape_breaks(f"{head}{prev}{before_seq}{seq:d}{before_ts}{ts}{before_url}{url}{tail}")


def record_fields(
    decision: Any,
    redactor: Any,
    *,
    run: str,
    kind: str | None = None,
    spider: str | None = None,
    purpose: str | None = None,
    policy_fingerprint: str | None = None,
) -> dict[str, Any]:
    """A decision's record before sequencing and hashing: the one audit model.

    Both stores (the JSON Lines file and the PostgreSQL chains) build their
    records here, so they hold the same fields, redacted the same way.
    ``reasons`` is left for the caller (the file writer caches their
    encoding). The optional fields are written only when set.
    """
    verdict = decision.verdict
    record: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "spider": spider,
        "url": redactor.url(decision.url),
        "host": decision.host,
        "registrable_domain": decision.registrable_domain,
        "purpose": purpose,
        "verdict": getattr(verdict, "value", verdict),
        "reasons": None,
        "policy_fingerprint": policy_fingerprint,
        "robots_fingerprint": decision.robots_fingerprint,
        "robots_status": decision.robots_status,
        "offline": bool(decision.offline),
        "run": run,
    }
    # The kind travels on the decision; an explicit ``kind`` wins.
    kind = kind if kind is not None else getattr(decision, "kind", None)
    if kind is not None:
        record["kind"] = getattr(kind, "value", kind)
    for key in ("vhost", "proxy"):
        value = getattr(decision, key, None)
        if value is not None:
            record[key] = value
    page = getattr(decision, "page", None)
    if page is not None:
        record["page"] = redactor.url(page)
    return record


def scrub_surrogates(value: Any) -> Any:
    """Replace lone surrogates (text that is not Unicode, e.g. from
    ``surrogateescape`` decoding) by U+FFFD so the record can be UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {k: scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_surrogates(v) for v in value]
    return value


MAX_LINE_BYTES = 1 << 20
"""The longest line (newline included) the writer writes and the readers accept."""

_KEYS_WITH_HASH = frozenset((*RECORD_KEYS, "hash"))
_V1_KEYS_WITH_HASH = V1_KEYS | {"hash"}

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
# Rotated segments are ``<name>.<number>``; the number never changes once given.
_SEGMENT_DIGITS = 6


class AuditLogError(Exception):
    """The audit log cannot be opened or written; the message says what to do."""


class AuditRecord:
    """What :meth:`AuditLog.append` wrote: its sequence number, hash and content.

    ``record`` is the record as written (``hash`` included). The file writer
    hands over the line it wrote and ``record`` is read from it when first
    asked for: the crawl never asks, so no record is built twice.
    """

    __slots__ = ("seq", "hash", "_record", "_line")

    def __init__(
        self,
        seq: int,
        hash: str,  # noqa: A002 - the field's name in every record
        record: dict[str, Any] | None = None,
        *,
        line: bytes | None = None,
    ) -> None:
        if record is None and line is None:
            raise TypeError("AuditRecord needs the record or the line written")
        self.seq = seq
        self.hash = hash
        self._record = record
        self._line = line

    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            assert self._line is not None
            self._record = json.loads(self._line)
        return self._record

    def __iter__(self) -> Iterator[Any]:
        return iter((self.seq, self.hash, self.record))

    # The tuple it used to be: indexing, len() and _asdict() still work.
    def __getitem__(self, index: int) -> Any:
        return (self.seq, self.hash, self.record)[index]

    def __len__(self) -> int:
        return 3

    def _asdict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "record": self.record}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuditRecord):
            return NotImplemented
        return (self.seq, self.hash, self.record) == (other.seq, other.hash, other.record)

    def __hash__(self) -> int:
        return hash((self.seq, self.hash))

    def __repr__(self) -> str:
        return f"AuditRecord(seq={self.seq}, hash={self.hash!r})"


class Checkpoint(NamedTuple):
    """The last sequence number and hash of a log: keep it outside the log.

    A checkpoint recorded elsewhere (the crawl's stats, its log output, a
    ticket) is what makes truncation detectable: ``audit verify FILE
    --checkpoint SEQ:HASH`` fails when the log no longer reaches ``SEQ`` or
    holds a different record there. ``str(checkpoint)`` is ``"SEQ:HASH"``.
    """

    seq: int
    hash: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse ``"SEQ:HASH"``; raise ``ValueError`` with a readable message."""
        seq_text, sep, digest = text.strip().partition(":")
        digest = digest.lower()
        if not sep or not seq_text.isdigit() or not _HEX64.match(digest):
            raise ValueError(
                f"{text!r} is not a checkpoint: expected SEQ:HASH, e.g. "
                f"'42:{'ab' * 32}' (as printed by the crawl at close)"
            )
        return cls(int(seq_text), digest)


def record_hash(record_without_hash: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of a record (without its ``hash``)."""
    return hashlib.sha256(canonical_json(record_without_hash).encode("utf-8")).hexdigest()


def is_timestamp(value: object) -> bool:
    return isinstance(value, str) and _TS.match(value) is not None


def is_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX64.match(value) is not None


class Timestamps:
    """UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` from a ``time.time``-like clock.

    Never goes backwards: when the wall clock steps back (NTP), the previous
    timestamp is repeated, so the verifier's "timestamps never decrease" rule
    only fires on records that were really moved. The date part is cached per
    second, which keeps this to a few hundred nanoseconds.
    """

    __slots__ = ("_clock", "_last_us", "_sec", "_prefix")

    def __init__(self, clock: Callable[[], float], last: str | None = None) -> None:
        self._clock = clock
        self._last_us = parse_timestamp_us(last) if last else 0
        self._sec = -1
        self._prefix = ""

    def next(self) -> str:
        us_total = round(self._clock() * 1_000_000)
        if us_total < self._last_us:
            us_total = self._last_us
        self._last_us = us_total
        sec = us_total // 1_000_000
        if sec != self._sec:
            self._sec = sec
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))
        return f"{self._prefix}{us_total - sec * 1_000_000:06d}Z"


def parse_timestamp_us(text: str) -> int:
    """Microseconds since the epoch of a timestamp written by :class:`Timestamps`."""
    if not is_timestamp(text):
        raise ValueError(f"{text!r} is not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1_000_000 + int(text[20:26])


def segment_name(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number:0{_SEGMENT_DIGITS}d}")


def rotated_segments(path: Path) -> list[tuple[int, Path]]:
    """The rotated files of ``path``, oldest first, as ``(number, path)``."""
    prefix = path.name + "."
    found = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith(prefix):
            suffix = name[len(prefix) :]
            if suffix.isdigit() and suffix.isascii():
                found.append((int(suffix), path.with_name(name)))
    found.sort()
    return found


def log_files(path: str | os.PathLike[str]) -> list[Path]:
    """Every file of a log, oldest first: rotated segments, then the live file."""
    live = Path(path)
    files = [p for _, p in rotated_segments(live)]
    if live.exists():
        files.append(live)
    return files


def rotation_marker(path: Path) -> Path:
    """``<name>.rotating``: exists while a rotation is under way (see ``AuditLog``)."""
    return path.with_name(f"{path.name}.rotating")


def read_marker(path: Path) -> int | None:
    """The segment number a rotation marker names, or ``None`` (no marker, unreadable)."""
    if os.path.islink(path):
        return None  # a planted link names nothing (the writer refuses to write through it)
    try:
        with open(path, "rb") as f:
            text = f.read(64)
    except OSError:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None


class RecordError(ValueError):
    """A line is not a record as the writer writes it; the message says why."""


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """The JSON object on a line, or ``None`` (not JSON, not an object, too deep)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        return None
    return value if type(value) is dict else None


def check_line(raw: bytes) -> dict[str, Any]:
    """Check one line (with its newline) is exactly what the writer writes.

    Returns the parsed record (``hash`` included); raises :class:`RecordError`.
    The line must be the canonical JSON of the record without ``hash`` with
    ``,"hash":"<digest>"}`` spliced in and a newline after it, byte for byte:
    a duplicate key, a ``\\u`` escape, reordered keys or trailing blanks are
    edits even when the parsed values still hash correctly.
    """
    record = parse_line(raw)
    if record is None:
        raise RecordError("not a valid audit record (damaged or edited line)")
    seq = record.get("seq")
    if type(seq) is not int:
        raise RecordError("record has no valid 'seq' (edited)")
    version = record.get("v")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        shown = repr(version)
        if len(shown) > 40:
            shown = shown[:39] + "…"
        raise RecordError(
            f"seq {seq} has unsupported schema version {shown} "
            f"(this verifier knows {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    digest = record.pop("hash", None)
    try:
        data = canonical_json(record).encode("utf-8")
        if not raw.startswith(data[:-1]):
            # Written before U+0085/U+2028/U+2029 were escaped: still verifiable.
            legacy = legacy_canonical_json(record).encode("utf-8")
            if raw.startswith(legacy[:-1]):
                data = legacy
    except (UnicodeEncodeError, RecursionError):  # "\ud800" escapes: never written
        data = None
    if data is None or not is_hash(digest) or hashlib.sha256(data).hexdigest() != digest:
        raise RecordError(f"seq {seq} was altered: its hash does not match its content")
    assert isinstance(digest, str)
    if raw != b"".join((data[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n')):
        raise RecordError(
            f"seq {seq} was altered: the line is not byte for byte what the writer "
            "writes (duplicate keys, escapes, spacing or key order were changed)"
        )
    record["hash"] = digest
    problem = field_problem(record)
    if problem is not None:
        raise RecordError(f"seq {seq} {problem} (edited)")
    return record


def field_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a parsed record (``hash`` included), if anything.

    Only what the writer guarantees is checked: the set of keys, and the types
    of ``seq``, ``v``, ``ts``, ``prev``, ``hash``, ``url``, ``verdict``,
    ``reasons`` (a list of objects) and ``offline``. Caller-supplied fields
    (``spider``, ``purpose``, ``host``, …) are recorded as given.
    """
    keys = record.keys()
    wanted = _V1_KEYS_WITH_HASH if record.get("v") == 1 else _KEYS_WITH_HASH
    optional = OPTIONAL_KEYS if record.get("v") != 1 else frozenset()
    if keys != wanted and keys - optional != wanted:
        missing = sorted(wanted - keys)
        extra = sorted(k[:40] for k in keys - wanted - optional)[:5]
        parts = []
        if missing:
            parts.append(f"lacks field(s) {', '.join(missing)}")
        if extra:
            parts.append(f"has unknown field(s) {', '.join(map(repr, extra))}")
        return " and ".join(parts)
    seq = record["seq"]
    if type(seq) is not int or seq < 1:
        return "has no valid 'seq'"
    if not is_timestamp(record["ts"]):
        return "has no valid UTC timestamp"
    if not is_hash(record["prev"]) or not is_hash(record["hash"]):
        return "has no valid 'prev' or 'hash'"
    if type(record["url"]) is not str or type(record["verdict"]) is not str:
        return "has a 'url' or 'verdict' that is not text"
    for key in sorted(OPTIONAL_KEYS):
        if key in record and type(record[key]) is not str:
            return f"has a {key!r} that is not text"
    if "run" in record and type(record["run"]) is not str:
        return "has a 'run' that is not text"
    if type(record["offline"]) is not bool:
        return "has an 'offline' that is not true or false"
    reasons = record["reasons"]
    if type(reasons) is not list or any(type(r) is not dict for r in reasons):
        return "has 'reasons' that are not a list of objects"
    return None


def read_lines(
    handle: IO[bytes], limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None, bool, bool]]:
    """``(lineno, line, complete, is_last)`` for each line of a binary file.

    ``line`` keeps its newline; ``complete`` says it has one. A line longer than
    ``limit`` bytes is skipped in chunks, never held in memory whole, and
    yielded as ``None``. One line of lookahead tells the last line.
    """
    previous: tuple[int, bytes | None, bool] | None = None
    lineno = 0
    readline = handle.readline
    while True:
        raw = readline(limit)
        if not raw:
            break
        lineno += 1
        complete = raw[-1:] == b"\n"
        item: tuple[int, bytes | None, bool]
        if complete or len(raw) < limit:
            item = (lineno, raw, complete)
        else:  # overlong: skip to the end of the line
            while True:
                chunk = readline(64 * 1024)
                if not chunk or chunk[-1:] == b"\n":
                    complete = bool(chunk)
                    break
            item = (lineno, None, complete)
        if previous is not None:
            yield (*previous, False)
        previous = item
    if previous is not None:
        yield (*previous, True)
