"""A safe YAML reader for policy files that remembers where every value came from.

Policy files are written by hand by legal teams and read by a crawler, so this
reader is deliberately small and strict:

- only plain data: mappings, lists, text, numbers, ``true``/``false``, null;
  no tags at all (``!!python/object`` and friends are refused before anything
  could be constructed), no anchors or aliases (so no "billion laughs"), one
  document per file;
- YAML 1.2-style scalars: only ``true``/``false`` are booleans (``no`` stays the
  text ``"no"``, the "Norway problem"), dates stay text and are parsed by the
  models so a bad date gets a readable message, no sexagesimal numbers, no
  ``<<`` merge keys;
- bounded: the caller caps the file size, this module caps nesting depth
  (:data:`MAX_DEPTH`) and the number of nodes (:data:`MAX_NODES`), both checked
  while composing so the work stops early, and composing stops at the first
  anchor; the worst 1 MiB file found is refused in about 0.9 s and 35 MiB;
- lines as editors count them: line breaks are ``\n``, ``\r\n`` and ``\r`` only.
  YAML 1.1 (and so PyYAML) also breaks lines at U+0085, U+2028 and U+2029,
  which editors show inside a line; those characters are refused, like the
  control characters PyYAML refuses, with their line and column;
- located: every mapping key and value gets its 1-based (line, column), keyed
  by its path (``("scopes", 0, "domains", 2)``), so validation errors can be
  reported where the user typed them. Duplicate keys are reported (the first
  value is kept) and parsing goes on, so one pass reports all of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import AliasEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 32  # a policy file is four or five levels deep; 32 leaves room for lists
MAX_NODES = 50_000  # a policy file has a few hundred values; PyYAML needs ~15 µs a node
MAX_NUMBER_CHARS = 100  # no policy number is longer; Python refuses int("9" * 4301)

Path = tuple[str | int, ...]

_YAML_TAG_PREFIX = "tag:yaml.org,2002:"
_NULL = _YAML_TAG_PREFIX + "null"
_BOOL = _YAML_TAG_PREFIX + "bool"
_INT = _YAML_TAG_PREFIX + "int"
_FLOAT = _YAML_TAG_PREFIX + "float"


@dataclass(frozen=True)
class Position:
    """Where a key and its value start (1-based line and column)."""

    key_line: int
    key_col: int
    line: int
    col: int


@dataclass(frozen=True)
class YamlIssue:
    """A problem found while reading YAML; ``path`` is empty for file-level problems."""

    line: int
    col: int
    path: Path
    message: str


class YamlError(Exception):
    """The file cannot be read as policy data at all; carries every issue found so far."""

    def __init__(self, issues: list[YamlIssue]) -> None:
        super().__init__("\n".join(f"{i.line}:{i.col}: {i.message}" for i in issues))
        self.issues = issues


@dataclass
class Document:
    """The data of one file, the position of every path in it, and non-fatal issues."""

    data: Any
    positions: dict[Path, Position]
    issues: list[YamlIssue]


class _Fatal(Exception):
    def __init__(self, mark: Any, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else 1
        self.col = mark.column + 1 if mark is not None else 1
        self.message = message
        self.path = path


class _PolicyLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """A ``SafeLoader`` that composes nodes only; construction is done by :func:`_build`."""

    # Our own resolver table: YAML 1.2 core-schema-like scalars, no timestamps, no merge keys.
    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Fatal(
                event.start_mark,
                f"alias '*{event.anchor}' is not allowed: policy files may not use "
                "anchors and aliases (write the value out in full)",
            )
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Fatal(
                event.start_mark,
                f"anchor '&{anchor}' is not allowed: policy files may not use "
                "anchors and aliases (write the value out in full)",
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            shown = "!!" + tag[len(_YAML_TAG_PREFIX) :] if tag.startswith(_YAML_TAG_PREFIX) else tag
            raise _Fatal(
                event.start_mark,
                f"tag '{shown}' is not allowed: policy files hold plain data only "
                "(text, numbers, true/false, lists and mappings)",
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Fatal(
                event.start_mark,
                f"too many YAML nodes (over {MAX_NODES}): a policy file is a few hundred "
                "entries (is this the right file?)",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Fatal(
                    event.start_mark,
                    f"nesting is deeper than {MAX_DEPTH} levels; policy files are never "
                    "that deep (is this the right file?)",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_RESOLVERS: list[tuple[str, str, str]] = [
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_NULL, r"^(?:~|null|Null|NULL)$", "~nN"),
    (_INT, r"^[-+]?[0-9]+$", "-+0123456789"),
    (_INT, r"^0o[0-7]+$", "0"),
    (_INT, r"^0x[0-9a-fA-F]+$", "0"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
]
for _tag, _regexp, _first in _RESOLVERS:
    _PolicyLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))
# The empty plain scalar (``key:`` with nothing after it) is null.
_PolicyLoader.add_implicit_resolver(_NULL, re.compile(r"^$"), [""])


def _scalar(node: ScalarNode, path: Path) -> Any:
    value = node.value
    if node.tag == _NULL:
        return None
    if node.tag == _BOOL:
        return value.lower() == "true"
    if node.tag in (_INT, _FLOAT) and len(value) > MAX_NUMBER_CHARS:
        raise _Fatal(
            node.start_mark,
            f"this number is {len(value)} characters long; numbers in a policy file are at "
            f"most {MAX_NUMBER_CHARS} (put it in quotes if it is meant as text)",
            path,
        )
    if node.tag == _INT:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    if node.tag == _FLOAT:
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(value)
    return value  # text (plain, quoted, literal or folded)


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a value"


def _build(node: Node, path: Path, positions: dict[Path, Position], issues: list[YamlIssue]) -> Any:
    """Turn a composed node into plain Python data, recording positions on the way."""
    if isinstance(node, ScalarNode):
        return _scalar(node, path)
    if isinstance(node, SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            line, col = _pos(child)
            child_path = (*path, index)
            positions[child_path] = Position(line, col, line, col)
            items.append(_build(child, child_path, positions, issues))
        return items
    if isinstance(node, MappingNode):
        mapping: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line, key_col = _pos(key_node)
            if not isinstance(key_node, ScalarNode):
                issues.append(
                    YamlIssue(
                        key_line,
                        key_col,
                        path,
                        f"a key must be a plain name, not {_describe(key_node)}",
                    )
                )
                continue
            key = key_node.value
            if key in first_seen:
                issues.append(
                    YamlIssue(
                        key_line,
                        key_col,
                        (*path, key),
                        f"duplicate key '{key}' (first given on line {first_seen[key]}); "
                        "each key may appear once",
                    )
                )
                continue
            first_seen[key] = key_line
            line, col = _pos(value_node)
            if (
                isinstance(value_node, ScalarNode)
                and value_node.value == ""
                and not (value_node.style)
            ):
                # ``key:`` with nothing after it: PyYAML marks the empty value where the
                # next token starts; point at the key instead.
                line, col = key_line, key_col
            child_path = (*path, key)
            positions[child_path] = Position(key_line, key_col, line, col)
            mapping[key] = _build(value_node, child_path, positions, issues)
        return mapping
    raise _Fatal(node.start_mark, "unsupported YAML node")  # pragma: no cover - composer only


def _mark_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    text = "; ".join(parts) if parts else "cannot be read as YAML"
    return f"invalid YAML: {text}{_hint(exc)}"


def _text_at(mark: Any, length: int) -> str:
    buffer = getattr(mark, "buffer", None)
    pointer = getattr(mark, "pointer", None)
    if not isinstance(buffer, str) or not isinstance(pointer, int):
        return ""
    return buffer[pointer : pointer + length]


def _hint(exc: yaml.MarkedYAMLError) -> str:
    """What people most often did wrong, for the two raw errors they meet most."""
    problem = exc.problem or ""
    if "'\\t'" in problem or "\t" in problem or "tab character" in problem:
        return " (a tab character: YAML does not allow tabs for indentation; indent with spaces)"
    if "alias" in (exc.context or "") and _text_at(exc.context_mark, 2) == "*.":
        return (
            " (an unquoted '*.' starts a YAML alias: drop the `*.`, a domain entry "
            "already covers every host under it, e.g. write example.com for *.example.com)"
        )
    return ""


def parse(text: str) -> Document:
    """Parse one policy file's text (already decoded) into a :class:`Document`.

    Raises :class:`YamlError` for anything that stops reading: invalid YAML, a
    tag, an anchor or alias, nesting deeper than :data:`MAX_DEPTH`, a second
    document, an empty file or a top level that is not a mapping.
    """
    _check_characters(text)
    loader = _PolicyLoader(text)
    try:
        loader.get_event()  # StreamStartEvent
        root = None
        if not loader.check_event(StreamEndEvent):
            root = loader.compose_document()
        if not loader.check_event(StreamEndEvent):
            event = loader.get_event()
            raise _Fatal(
                event.start_mark,
                "a second YAML document starts here; a policy file holds exactly one "
                "(remove the '---' separator or split the file)",
            )
    except _Fatal as exc:
        raise YamlError([YamlIssue(exc.line, exc.col, (), exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else 1
        raise YamlError([YamlIssue(line, col, (), _mark_message(exc))]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - _check_characters runs first
        raise YamlError([YamlIssue(1, 1, (), f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()

    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        raise YamlError([YamlIssue(1, 1, (), "the file is empty; expected a mapping of fields")])
    if not isinstance(root, MappingNode):
        line, col = _pos(root)
        found = "a list" if isinstance(root, SequenceNode) else f"the value {root.value!r}"
        raise YamlError(
            [
                YamlIssue(
                    line,
                    col,
                    (),
                    f"expected a mapping of fields ('key: value' lines) at the top level, "
                    f"found {found}",
                )
            ]
        )
    positions: dict[Path, Position] = {(): Position(*_pos(root), *_pos(root))}
    issues: list[YamlIssue] = []
    try:
        data = _build(root, (), positions, issues)
    except _Fatal as exc:  # a number too long to be read
        raise YamlError([*issues, YamlIssue(exc.line, exc.col, exc.path, exc.message)]) from None
    return Document(data, positions, issues)


# What PyYAML's reader refuses (its NON_PRINTABLE) plus the YAML 1.1 line breaks that
# editors do not count: U+0085 (NEL), U+2028 and U+2029.
_REFUSED_CHARACTER = re.compile(
    r"[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LINE_BREAK_NAMES = {0x85: "next line", 0x2028: "line separator", 0x2029: "paragraph separator"}


def _check_characters(text: str) -> None:
    """Refuse the characters PyYAML cannot read or would count as line breaks, located."""
    found = _REFUSED_CHARACTER.search(text)
    if found is None:
        return
    code = ord(found.group())
    line, col = _text_locate(text, found.start())
    escape = f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    if code in _LINE_BREAK_NAMES:
        message = (
            f"character U+{code:04X} ({_LINE_BREAK_NAMES[code]}) is not allowed: YAML reads "
            "it as a line break but editors do not, so line numbers would not match "
            f"(remove it, or write it as {escape} inside double quotes)"
        )
    else:
        kind = "control character" if unicodedata.category(found.group()) == "Cc" else "character"
        message = (
            f"{kind} U+{code:04X} is not allowed in a policy file "
            f"(remove it, or write it as {escape} inside double quotes)"
        )
    raise YamlError([YamlIssue(line, col, (), message)])


def _text_locate(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``text[offset]``; lines end at \\n, \\r\\n or \\r."""
    before = text[:offset]
    line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
    start = max(before.rfind("\n"), before.rfind("\r")) + 1
    return line, offset - start + 1


def decode(raw: bytes) -> str:
    """Decode a policy file's bytes as UTF-8, refusing NUL bytes and invalid UTF-8.

    Raises :class:`YamlError` with the line and column of the first bad byte.
    """
    nul = raw.find(b"\x00")
    if nul != -1:
        line, col = _locate(raw, nul)
        raise YamlError(
            [
                YamlIssue(
                    line,
                    col,
                    (),
                    "NUL byte in file; policy files are UTF-8 text (is this a binary "
                    "or UTF-16 file?)",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _locate(raw, exc.start)
        raise YamlError(
            [
                YamlIssue(
                    line,
                    col,
                    (),
                    f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")  # a UTF-8 byte order mark is harmless


def _locate(raw: bytes, offset: int) -> tuple[int, int]:
    # Column in characters: decode what precedes the offset, leniently.
    before = raw[:offset].decode("utf-8", errors="replace")
    return _text_locate(before, len(before))
