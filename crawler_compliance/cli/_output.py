"""Terminal-safe output for every CLI command.

Text that comes from outside (URLs, robots.txt lines, audit records) is never
written raw: control characters could move the cursor or recolour a
terminal, bidi overrides could reorder what a reviewer reads, lone
surrogates cannot be encoded. They are shown as backslash escapes.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# Characters never printed as they are: C0/C1 controls (terminal escapes, line
# breaks), lone surrogates (not encodable), bidi overrides and line separators.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with control, bidi and unencodable characters shown as escapes."""
    return _UNSAFE.sub(_escape, text)


def write(text: str, stream: Any = None) -> None:
    """Write ``text``; characters the stream cannot encode are backslash-escaped."""
    stream = sys.stdout if stream is None else stream
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def print_line(text: str = "", stream: Any = None) -> None:
    """One line of output: control characters in ``text`` are escaped, newlines too."""
    write(safe(text) + "\n", stream)


def print_lines(text: str, stream: Any = None) -> None:
    """Several lines (a multi-line error): each escaped, the line breaks kept."""
    for line in text.split("\n"):
        print_line(line, stream)
