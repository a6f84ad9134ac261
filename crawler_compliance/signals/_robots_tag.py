"""``X-Robots-Tag`` headers and robots ``<meta>`` tags, as Google documents them.

* Directives are comma-separated and case-insensitive; spaces around them do
  not matter; a response may carry several ``X-Robots-Tag`` headers and all
  of them apply.
* A header value may start with a user-agent and a colon
  (``X-Robots-Tag: MyBot: noai, noindex``): its directives, up to the end of
  that header value, apply to that crawler only. We honour the scoped form
  for our own product token and ignore other crawlers' (``googlebot: noindex``
  does not bind us). Directives that carry a colon themselves
  (``unavailable_after: …``, ``max-snippet: 20``) are not mistaken for a
  user-agent.
* ``<meta name="robots">`` applies to every crawler, ``<meta name="<token>">``
  to ours; the name is case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable

from crawler_compliance._purpose import Purpose
from crawler_compliance.signals._table import Finding, Signal

__all__ = ["directive_findings", "header_directives", "meta_directives"]

_AI = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT})
BINDS: dict[str, frozenset[Purpose]] = {
    "noai": _AI,
    "noimageai": _AI,
    "noindex": frozenset({Purpose.SEARCH_INDEXING}),
    "none": frozenset({Purpose.SEARCH_INDEXING}),
    "noarchive": frozenset({Purpose.ARCHIVING}),
}
# Directives whose own syntax has a colon (so "name:" is not a user-agent).
_COLON_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
_MAX_DIRECTIVES = 256


def _split(value: str) -> list[str]:
    items = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if ":" not in item and " " in item:
            items.extend(item.split())  # "noindex noai": spaces used as separators
        else:
            items.append(item)
    return items


def header_directives(values: Iterable[str], token: str) -> list[tuple[str, str | None]]:
    """``(directive, scope)`` pairs from ``X-Robots-Tag`` values that apply to *token*.

    ``scope`` is None for an unscoped directive, else the user-agent named.
    """
    ours = token.lower()
    found: list[tuple[str, str | None]] = []
    for value in values:
        scope: str | None = None
        for item in _split(value):
            name, colon, rest = item.partition(":")
            name = name.strip().lower()
            if colon and name not in _COLON_DIRECTIVES:
                scope = name  # "MyBot: noai": a new scope for the rest of this value
                item = rest.strip()
                if not item:
                    continue
            directive = item.strip().lower().split(":", 1)[0].strip()
            if directive and (scope is None or scope == ours):
                found.append((directive, scope))
            if len(found) >= _MAX_DIRECTIVES:
                return found
    return found


def meta_directives(metas: Iterable[tuple[str, str]], token: str) -> list[tuple[str, str]]:
    """``(directive, meta name)`` from ``robots`` and *token* meta tags (names lower-case)."""
    ours = token.lower()
    found = []
    for name, content in metas:
        if name not in ("robots", ours):
            continue
        for item in _split(content):
            directive = item.lower().split(":", 1)[0].strip()
            if directive:
                found.append((directive, name))
    return found[:_MAX_DIRECTIVES]


def directive_findings(pairs: Iterable[tuple[str, str]], *, source: str | None) -> list[Finding]:
    """One finding per distinct (directive, carrier); ``pairs`` are (directive, where)."""
    seen: set[tuple[str, str]] = set()
    findings = []
    for directive, where in pairs:
        if (directive, where) in seen:
            continue
        seen.add((directive, where))
        findings.append(
            Finding(
                Signal.ROBOTS_TAG,
                directive,
                where,
                BINDS.get(directive, frozenset()),
                source=source,
            )
        )
    return findings
