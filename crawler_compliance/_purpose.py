"""The declared purposes of a crawl: one vocabulary for policy, settings, signals and audit.

Every machine-readable opt-out (robots.txt ``Content-Signal`` / ``Content-Usage``,
TDMRep, RSL, ``X-Robots-Tag`` and robots meta tags) is mapped onto these
purposes (see :mod:`crawler_compliance.signals`), so "does this signal bind
this crawl?" is one lookup, never a string comparison scattered in adapters.
"""

from __future__ import annotations

import enum

__all__ = ["AI_PURPOSES", "Purpose", "parse_purpose"]


class Purpose(str, enum.Enum):
    """Why the crawl fetches content. The value is what policy files and settings spell."""

    SEARCH_INDEXING = "search-indexing"  # a search engine: find pages and link back to them
    AI_TRAINING = "ai-training"  # change the parameters of an AI model
    AI_INPUT = "ai-input"  # ground or answer an AI system's output (RAG, live answers)
    RESEARCH = "research"
    ARCHIVING = "archiving"
    MONITORING = "monitoring"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


# Purposes whose content ends up in or feeds an AI model: AI opt-outs bind them.
AI_PURPOSES = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT})


def parse_purpose(value: str | Purpose | None) -> Purpose | None:
    """``"ai-training"`` -> ``Purpose.AI_TRAINING``; a misspelt name raises ``ValueError``
    listing the valid ones (it never falls through to a purpose nothing binds)."""
    if value is None or isinstance(value, Purpose):
        return value
    try:
        return Purpose(value.strip().lower())
    except ValueError:
        names = ", ".join(p.value for p in Purpose)
        raise ValueError(f"{value!r} is not a crawl purpose; use one of: {names}") from None
