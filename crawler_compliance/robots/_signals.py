"""AI-usage preferences written in robots.txt: ``Content-Signal`` and ``Content-Usage``.

``Content-Signal: search=yes, ai-train=no`` (contentsignals.org) and
``Content-Usage: train-ai=n`` (IETF aipref, draft-ietf-aipref-attach) both
state, per user-agent group, what the site allows its content to be used for.
They are not RFC 9309 rules and do not change the fetch verdict; the policy
layer decides what a purpose must respect. Both are read into one flat
mapping with keys and values lower-cased.

``Content-Usage`` may start with a path (``Content-Usage: /news/ train-ai=n``);
such a line applies only to URLs whose path the pattern matches, and a
more specific (longer) path overrides a shorter one or an unscoped line. We
accept the same optional path on ``Content-Signal`` since it costs nothing and
errs towards honouring the site.
"""

from __future__ import annotations

from typing import NamedTuple

from crawler_compliance.robots._matcher import wildcard_matcher
from crawler_compliance.robots._normalize import normalize_pattern


class SignalLine(NamedTuple):
    line: int
    path: str | None  # normalised path pattern, or None when the line is unscoped
    values: tuple[tuple[str, str], ...]


def parse_signal_line(line_no: int, value: str) -> SignalLine | None:
    """Parse ``[path] key=value, key=value``; None when nothing usable is there."""
    path = None
    value = value.strip()
    if value.startswith("/") or value.startswith("*"):
        first, _, value = value.partition(" ")
        path = normalize_pattern(first)
    pairs = []
    for item in value.replace(";", ",").split(","):
        key, sep, val = item.partition("=")
        key, val = key.strip().lower(), val.strip().strip('"').lower()
        if sep and key:
            pairs.append((key, val))
    if not pairs:
        return None
    return SignalLine(line_no, path, tuple(pairs))


def _applies(path_pattern: str, request_path: str) -> bool:
    if "*" in path_pattern or path_pattern.endswith("$"):
        return wildcard_matcher(path_pattern)(request_path)
    return request_path.startswith(path_pattern)


def merge_signals(lines: list[SignalLine], request_path: str | None) -> dict[str, str]:
    """Merge lines in file order; scoped lines after unscoped ones, shortest path first."""
    merged: dict[str, str] = {}
    for signal in _ordered(lines, request_path):
        merged.update(signal.values)
    return merged


def _ordered(lines: list[SignalLine], request_path: str | None) -> list[SignalLine]:
    unscoped = [s for s in lines if s.path is None]
    scoped = []
    if request_path is not None:
        scoped = [s for s in lines if s.path is not None and _applies(s.path, request_path)]
        scoped.sort(key=lambda s: len(s.path or ""))
    return unscoped + scoped


def merge_signal_sources(
    lines: list[SignalLine], request_path: str | None
) -> list[tuple[str, str, int]]:
    """(label, value, line) after merging, kept apart per vocabulary.

    A later (or more specific) line overrides an earlier one for the same
    label *in the same vocabulary* (``yes``/``no`` is contentsignals.org's,
    anything else aipref's), so ``Content-Usage: search=n`` and
    ``Content-Signal: search=yes`` both survive and the stricter one can win.
    """
    merged: dict[tuple[str, bool], tuple[str, str, int]] = {}
    for signal in _ordered(lines, request_path):
        for key, value in signal.values:
            merged[(key, value in ("yes", "no"))] = (key, value, signal.line)
    return list(merged.values())
