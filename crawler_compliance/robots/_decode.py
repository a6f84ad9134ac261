"""Turn a robots.txt body into text, or say plainly that it cannot be read.

Every Python parser we measured silently allows everything when the body is
UTF-16, gzip sent without ``Content-Encoding``, or binary, because what they
parse is noise. A file that meant to disallow must not become allow-all by
accident of encoding, so we read what can be read (RFC 9309 §2.2 says UTF-8;
we also accept a BOM, UTF-16 and gzip) and report the rest as unreadable,
which the fetch-status rules turn into "disallow all".

The size cap applies to the octets after decompression, so a gzip bomb costs
at most the cap. RFC 9309 §2.5 sets 500 KiB as the *least* a crawler must
parse; a compliance tool should not ignore rules a site wrote, so the whole
body the fetchers accept is parsed: 4 MiB, the download cap of the Scrapy
and CLI fetchers. Parsing stays one linear pass over the lines.
"""

from __future__ import annotations

import re
import zlib
from typing import NamedTuple

DEFAULT_MAX_BYTES = 4 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

# Characters no robots.txt has: C0 controls other than whitespace, and octets
# that were not UTF-8 (surrogate escapes).
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\udc80-\udcff]")
# Above this share of such characters the body is not text. Real files in
# Latin-1 stay far below it (an accented letter now and then); binary data
# and undetected UTF-16 sit far above it.
_NOT_TEXT_SHARE = 0.05
_SAMPLE = 64 * 1024


class Decoded(NamedTuple):
    text: str
    truncated: bool  # the body was longer than the cap; only its start is in text
    problem: str | None  # why the body is not text, or None
    encoding: str


def gunzip(body: bytes, max_bytes: int) -> tuple[bytes | None, bool]:
    """Decompress gzip or zlib data, stopping after ``max_bytes``; None if corrupt."""
    decompressor = zlib.decompressobj(47)  # 32 + 15: gzip or zlib header, detected
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except zlib.error:
        return None, False
    return data[:max_bytes], len(data) > max_bytes


def _sniff_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII text leaves every other octet zero."""
    sample = head[:512]
    if len(sample) < 4:
        return None
    evens, odds = sample[0::2], sample[1::2]
    if odds.count(0) >= 0.9 * len(odds) and evens.count(0) <= 0.1 * len(evens):
        return "utf-16-le"
    if evens.count(0) >= 0.9 * len(evens) and odds.count(0) <= 0.1 * len(odds):
        return "utf-16-be"
    return None


def decode(
    body: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES, charset: str | None = None
) -> Decoded:
    """Decode ``body`` to text, honouring the size cap.

    ``charset`` is the one declared by the server (``Content-Type``); it is used
    only when there is no BOM and the body is not valid UTF-8.
    """
    max_bytes = max(0, int(max_bytes))
    if isinstance(body, str):
        if len(body) * 4 <= max_bytes:
            return Decoded(body.removeprefix("\ufeff"), False, None, "utf-8")
        raw = body.encode("utf-8", "surrogateescape")
        truncated = len(raw) > max_bytes
        head = raw[:max_bytes].decode("utf-8", "surrogateescape")
        return Decoded(head.removeprefix("\ufeff"), truncated, None, "utf-8")

    truncated = False
    if body[:2] == b"\x1f\x8b":
        data, truncated = gunzip(body, max_bytes)
        if data is None:
            return Decoded("", False, "the body looks like gzip but does not decompress", "gzip")
        body = data
    elif len(body) > max_bytes:
        body, truncated = body[:max_bytes], True

    encoding = None
    for bom, name in _BOMS:
        if body.startswith(bom):
            encoding, body = name, body[len(bom) :]
            break
    else:
        body = _strip_partial_bom(body)
    if encoding is None:
        encoding = _sniff_utf16(body) or "utf-8"
    text: str | None
    if encoding == "utf-8":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
            if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
                try:
                    text = body.decode(charset)
                    encoding = charset.lower()
                except (LookupError, UnicodeDecodeError):
                    text = None
            if text is None:
                if truncated:
                    # The cap may have cut a multi-octet character in two.
                    body = body[: len(body) - _partial_tail(body)]
                text = body.decode("utf-8", "surrogateescape")
    else:
        if truncated and encoding.startswith("utf-16"):
            body = body[: len(body) // 2 * 2]
        text = body.decode(encoding, "replace")

    # A BOM left in the text (written twice, or UTF-8 BOM inside UTF-16) is not content.
    assert text is not None
    text = text.removeprefix("\ufeff")
    sample = text[:_SAMPLE]
    bad = len(_NOT_TEXT.findall(sample))
    if sample and bad > max(4, _NOT_TEXT_SHARE * len(sample)):
        return Decoded(
            "", truncated, "the body is not text (binary or an unknown encoding)", encoding
        )
    return Decoded(text, truncated, None, encoding)


def _strip_partial_bom(body: bytes) -> bytes:
    """Drop the first one or two octets of a UTF-8 BOM at the start, as Google's parser does.

    ``EF BB`` or a lone ``EF`` before ASCII text is a BOM cut short, not
    content; left in place it would hide the first user-agent line.
    """
    if body.startswith(b"\xef\xbb"):
        return body[2:]
    if body[:1] == b"\xef" and body[1:2] < b"\x80":
        return body[1:]
    return body


def _partial_tail(raw: bytes) -> int:
    """How many octets at the end of ``raw`` start an unfinished UTF-8 character."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte & 0xC0 != 0x80:  # not a continuation octet
            need = 2 if byte >= 0xC0 else 0
            need = 3 if byte >= 0xE0 else need
            need = 4 if byte >= 0xF0 else need
            return back if need > back else 0
    return 0
