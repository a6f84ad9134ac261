"""What changed between the reviewed terms text and the current one (difflib)."""

from __future__ import annotations

import difflib

__all__ = ["change_excerpt", "unified_diff"]

EXCERPT_LINES = 8  # changed lines kept in an audit record
EXCERPT_CHARS = 200  # per line
_MAX_DIFF_LINES = 2000


def unified_diff(reviewed: str, current: str, *, reviewed_name: str, current_name: str) -> str:
    """A unified diff (three lines of context) of two normalised texts; empty when equal."""
    return "".join(
        difflib.unified_diff(
            reviewed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=reviewed_name,
            tofile=current_name,
        )
    )


def _cut(line: str) -> str:
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 3] + "..."


def change_excerpt(reviewed: str, current: str, *, max_lines: int = EXCERPT_LINES) -> list[str]:
    """The first changed lines, each prefixed ``-`` (removed) or ``+`` (added), short.

    Meant for an audit record: enough for a person to see what kind of change
    it is, bounded in size. ``…N more changed lines`` ends a cut excerpt.
    """
    old, new = reviewed.splitlines(), current.splitlines()
    # Common head and tail first: difflib is quadratic on what is left, so what
    # is left is bounded too (a hostile page cannot make this slow).
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old, new = old[head : len(old) - tail], new[head : len(new) - tail]
    total = 0
    if len(old) > _MAX_DIFF_LINES or len(new) > _MAX_DIFF_LINES:
        total = max(0, len(old) - _MAX_DIFF_LINES) + max(0, len(new) - _MAX_DIFF_LINES)
        old, new = old[:_MAX_DIFF_LINES], new[:_MAX_DIFF_LINES]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for line in old[i1:i2]:
            total += 1
            if len(out) < max_lines:
                out.append("- " + _cut(line))
        for line in new[j1:j2]:
            total += 1
            if len(out) < max_lines:
                out.append("+ " + _cut(line))
    if total > len(out):
        out.append(f"…{total - len(out)} more changed lines")
    return out
