"""AI-usage preferences: IETF aipref ``Content-Usage`` and contentsignals.org ``Content-Signal``.

Both state, per usage category, allow or disallow: aipref as a Structured
Fields dictionary of ``y``/``n`` tokens (``train-ai=n, search=y``,
draft-ietf-aipref-vocab §5), Content-Signal as ``yes``/``no``
(``search=yes, ai-train=no``). A category may be unknown (absent, or a value
that is neither).

We read leniently, where strict parsing would lose an opt-out: keys and
values are compared case-insensitively (the draft makes ``Train-AI=n`` a
parse failure, i.e. "unknown"; we honour it), parameters are dropped
(``train-ai=n;x=1`` is ``n``), a duplicated key keeps its last value (as
RFC 9651 §4.2.2 does). An entry we cannot read at all is ignored, never taken
as "allowed".

Categories nest: in older drafts ``all`` (also ``bots``) covers every
automated use; a more specific category stated in the same declaration
overrides it for that use (``all=n, search=y`` allows search only).
"""

from __future__ import annotations

from collections.abc import Mapping

from crawler_compliance._purpose import Purpose
from crawler_compliance.signals._table import ALL_PURPOSES, Finding, Signal

__all__ = ["parse_preferences", "preference_findings"]

# Label -> the purposes a "no" for it refuses.
_SPECIFIC: dict[str, frozenset[Purpose]] = {
    "train-ai": frozenset({Purpose.AI_TRAINING}),
    "train-genai": frozenset({Purpose.AI_TRAINING}),
    "ai-train": frozenset({Purpose.AI_TRAINING}),  # contentsignals.org
    "ai-use": frozenset({Purpose.AI_INPUT}),
    "ai-input": frozenset({Purpose.AI_INPUT}),  # contentsignals.org
    "search": frozenset({Purpose.SEARCH_INDEXING}),
}
_GENERAL = ("all", "bots")  # automated processing as a whole (older aipref drafts)
_NO = frozenset({"n", "no"})
_YES = frozenset({"y", "yes"})
_MAX_ITEMS = 64  # a declaration has a handful of categories; more is noise


def parse_preferences(text: str) -> dict[str, str]:
    """``"train-ai=n;p=1, Search=Y"`` -> ``{"train-ai": "n", "search": "y"}``.

    Values that are not tokens (``"n"`` in quotes, booleans) are kept as
    written so the audit shows them; only ``y``/``yes``/``n``/``no`` mean
    anything.
    """
    prefs: dict[str, str] = {}
    for item in text.split(",")[:_MAX_ITEMS]:
        member = item.split(";", 1)[0]  # parameters never change the preference
        key, sep, value = member.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        prefs.pop(key, None)  # the last occurrence wins, in its position
        prefs[key] = value.strip().lower() if sep else "?1"  # bare key: boolean true
    return prefs


def _family(key: str, value: str) -> Signal:
    if key in ("ai-train", "ai-input") or value in ("yes", "no"):
        return Signal.CONTENT_SIGNAL
    return Signal.CONTENT_USAGE


def preference_findings(
    prefs: Mapping[str, tuple[str, int | None]],
    *,
    where: str,
    source: str | None,
    family: Signal | None = None,
) -> list[Finding]:
    """One finding per category the declaration states.

    ``prefs`` maps a lower-case label to (value, line); ``where`` names the
    carrier ("robots.txt", "Content-Usage header"); with a line, findings say
    "robots.txt line 4". ``family`` forces the signal family (a header is
    always Content-Usage); without it yes/no values are Content-Signal.
    """
    allowed: set[Purpose] = set()
    for key, (value, _line) in prefs.items():
        if key in _SPECIFIC and value in _YES:
            allowed |= _SPECIFIC[key]
    findings = []
    for key, (value, line) in prefs.items():
        if key in _SPECIFIC:
            binds = _SPECIFIC[key] if value in _NO else frozenset()
        elif key in _GENERAL:
            binds = ALL_PURPOSES - allowed if value in _NO else frozenset()
        else:
            continue  # unknown labels MUST be ignored (draft-ietf-aipref-vocab §5.4)
        detail = "" if value in _NO | _YES else "not y/n: preference unknown"
        findings.append(
            Finding(
                signal=family or _family(key, value),
                value=f"{key}={value}",
                where=f"{where} line {line}" if line else where,
                binds=frozenset(binds),
                source=source,
                line=line,
                detail=detail,
            )
        )
    return findings
