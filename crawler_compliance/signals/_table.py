"""The one table: which signal value binds which crawl purpose.

Every opt-out reader in this package turns what it found into
:class:`Finding` objects whose ``binds`` comes from this table, so the README
table (rendered by :func:`render_table`), the decision and the audit log can
never disagree. Most restrictive wins: a purpose is refused as soon as one
finding binds it, whatever other signals allow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from crawler_compliance._purpose import Purpose

__all__ = [
    "ALL_PURPOSES",
    "TABLE",
    "TDM_PURPOSES",
    "Finding",
    "Row",
    "Signal",
    "render_table",
]


class Signal(str, enum.Enum):
    """Families of machine-readable opt-out. A permission's ``overrides`` names these."""

    CONTENT_SIGNAL = "content-signal"  # robots.txt Content-Signal (contentsignals.org)
    CONTENT_USAGE = "content-usage"  # IETF aipref: robots.txt line or HTTP header
    TDMREP = "tdmrep"  # W3C TDMRep: tdmrep.json, tdm-reservation header, meta tag
    RSL = "rsl"  # RSL 1.0 licence (robots.txt License:, Link rel=license)
    ROBOTS_TAG = "robots-tag"  # X-Robots-Tag header, <meta name="robots"> and our token's


ALL_PURPOSES = frozenset(Purpose)
_AI = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT})
# Text and data mining (DSM Directive art. 2(2), 4): automated analysis to find
# patterns. Training, grounding AI output and research analysis are TDM; indexing
# for search, archiving and monitoring a page are not mining it.
TDM_PURPOSES = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT, Purpose.RESEARCH})


@dataclass(frozen=True)
class Row:
    """One line of the table: a signal value and the purposes it refuses."""

    signal: Signal
    value: str  # as written by sites, e.g. "train-ai=n"
    binds: frozenset[Purpose]
    note: str = ""


TABLE: tuple[Row, ...] = (
    # IETF aipref vocabulary (draft-ietf-aipref-vocab), y/n tokens.
    Row(Signal.CONTENT_USAGE, "train-ai=n", frozenset({Purpose.AI_TRAINING})),
    Row(
        Signal.CONTENT_USAGE,
        "train-genai=n",
        frozenset({Purpose.AI_TRAINING}),
        "older drafts; a training crawl cannot rule out generative models",
    ),
    Row(Signal.CONTENT_USAGE, "ai-use=n", frozenset({Purpose.AI_INPUT})),
    Row(Signal.CONTENT_USAGE, "search=n", frozenset({Purpose.SEARCH_INDEXING})),
    Row(
        Signal.CONTENT_USAGE,
        "all=n / bots=n",
        ALL_PURPOSES,
        "older drafts' automated processing; a more specific `=y` lifts it for that purpose",
    ),
    # contentsignals.org, yes/no.
    Row(Signal.CONTENT_SIGNAL, "ai-train=no", frozenset({Purpose.AI_TRAINING})),
    Row(Signal.CONTENT_SIGNAL, "ai-input=no", frozenset({Purpose.AI_INPUT})),
    Row(Signal.CONTENT_SIGNAL, "search=no", frozenset({Purpose.SEARCH_INDEXING})),
    # W3C TDMRep.
    Row(Signal.TDMREP, "tdm-reservation=1", TDM_PURPOSES, "tdm-policy is recorded"),
    Row(
        Signal.TDMREP,
        "tdm-reservation unreadable",
        TDM_PURPOSES,
        "5xx, 401/403/429, timeout, malformed or oversized tdmrep.json, bad value: fail closed",
    ),
    # RSL 1.0 usage tokens in <prohibits type="usage"> (or absent from <permits>).
    Row(Signal.RSL, "ai-train", frozenset({Purpose.AI_TRAINING})),
    Row(Signal.RSL, "ai-input", frozenset({Purpose.AI_INPUT})),
    Row(Signal.RSL, "ai-index", frozenset({Purpose.AI_INPUT}), "indexing for AI retrieval"),
    Row(Signal.RSL, "ai-all", _AI),
    Row(Signal.RSL, "search", frozenset({Purpose.SEARCH_INDEXING})),
    Row(Signal.RSL, "all", ALL_PURPOSES),
    Row(
        Signal.RSL,
        "payment / licence server",
        ALL_PURPOSES,
        "unless a permission's rsl override names the licence URL",
    ),
    Row(Signal.RSL, "licence unreadable", _AI, "fetch failure, bad XML, DTD or entities, too big"),
    # X-Robots-Tag and robots meta tags (ours or robots).
    Row(Signal.ROBOTS_TAG, "noai", _AI),
    Row(Signal.ROBOTS_TAG, "noimageai", _AI, "the page carries the images a crawl would take"),
    Row(Signal.ROBOTS_TAG, "noindex", frozenset({Purpose.SEARCH_INDEXING})),
    Row(Signal.ROBOTS_TAG, "none", frozenset({Purpose.SEARCH_INDEXING}), "noindex, nofollow"),
    Row(Signal.ROBOTS_TAG, "noarchive", frozenset({Purpose.ARCHIVING})),
)


@dataclass(frozen=True)
class Finding:
    """One opt-out value as found on a site, with where it came from.

    ``binds`` are the purposes it refuses (from :data:`TABLE`); an empty set
    means the value refuses nothing (``train-ai=y``, ``tdm-reservation=0``)
    and is recorded as information. ``where`` says where in the source it is
    (``"robots.txt line 4"``, ``"X-Robots-Tag header"``); ``source`` is the URL
    of the file or page; ``licence`` is the RSL licence URL for RSL findings.
    """

    signal: Signal
    value: str
    where: str
    binds: frozenset[Purpose]
    source: str | None = None
    line: int | None = None
    detail: str = ""
    licence: str | None = None


def render_table() -> str:
    """The table as Markdown, for the README (a test keeps the README in step)."""
    names = [p.value for p in Purpose]
    lines = [
        "| signal | value | " + " | ".join(f"`{n}`" for n in names) + " | note |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for row in TABLE:
        marks = " | ".join("deny" if p in row.binds else "·" for p in Purpose)
        lines.append(f"| {row.signal.value} | `{row.value}` | {marks} | {row.note} |")
    return "\n".join(lines)
