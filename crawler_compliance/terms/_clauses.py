"""Sentences of a terms text that restrict automated access: evidence for a human.

A sentence is flagged when it names a form of automated access (scraping,
crawling, spiders, robots, automated means, data or text-and-data mining,
machine learning / AI training, facial recognition...) **and** says, in the same
sentence, that it is not allowed ("may not", "must not", "prohibited",
"without our prior written consent", "agree not to", "reserve ... text and
data mining"...). So "you may not use any robot, spider or other automated
means" is flagged and "our robots are friendly" is not.

This is keyword matching, not legal advice. It finds sentences a lawyer
should read; it misses prohibitions worded in other ways or other languages,
and it flags sentences whose negation it cannot parse ("nothing here
prohibits crawling" is flagged). A flag is evidence for a review, never a
verdict on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["MAX_CLAUSES", "RestrictiveClause", "restrictive_clauses", "sentences"]

MAX_CLAUSES = 20  # evidence kept per page: enough to review, bounded for the audit log
MAX_SENTENCE_CHARS = 600  # one sentence of evidence, cut (with "...") beyond this
_MAX_SCAN_CHARS = 4 * 1024 * 1024

# What kind of automated access a sentence is about (label, pattern).
_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("scraping", r"\b(?:web[\s-]?|screen[\s-]?)?scrap(?:e|es|ed|ing|ers?)\b"),
        ("crawling", r"\bcrawl(?:s|ed|ing|ers?)?\b"),
        ("spiders", r"\bspiders?\b|\bspidering\b"),
        ("robots", r"\brobots?\b|\bbots?\b"),
        (
            "automated means",
            r"\bautomat(?:ed|ic|ically)\s+(?:\w+\s+){0,2}?(?:means|access|systems?|tools?|"
            r"queries|query|process(?:es|ing)?|software|scripts?|programs?|devices?|"
            r"technolog(?:y|ies)|methods?|requests?|agents?|collection|retrieval)\b",
        ),
        ("harvesting", r"\bharvest(?:s|ed|ing)?\b"),
        ("text and data mining", r"\btext\s+(?:and|&)\s+data\s+mining\b|\btdm\b"),
        ("data mining", r"\bdata[\s-]?mining\b|\bmin(?:e|ing)\s+(?:\w+\s+){0,2}?data\b"),
        ("data extraction", r"\bextract(?:s|ed|ing|ion)?\b(?:\s+\w+){0,4}?\s+(?:data|content)\b"),
        ("machine learning", r"\bmachine[\s-]learning\b"),
        (
            "AI training",
            r"\b(?:artificial intelligence|a\.?i\.?|llms?|large language models?|"
            r"generative|neural networks?)\b(?:\s+\w+){0,4}?\s+(?:train(?:ing|ed)?|models?|"
            r"systems?|development)\b|\btrain(?:ing|ed)?\b(?:\s+\w+){0,5}?\s+(?:a\.?i\.?|"
            r"artificial intelligence|models?|algorithms?|llms?|neural networks?)\b",
        ),
        ("facial recognition", r"\bfac(?:ial|e)[\s-]recognition\b"),
    )
)

# Prohibition or restriction in the same sentence.
_PROHIBITION = re.compile(
    r"\b(?:may|must|shall|will|should|can)\s+not\b|\b(?:mayn't|mustn't|shan't|won't|can't|"
    r"cannot)\b|\bdo(?:es)?\s+not\b|\bdon't\b|\bnot\s+(?:be\s+)?(?:permitted|allowed|"
    r"authori[sz]ed)\b|\bprohibit(?:s|ed|ion)?\b|\bforbid(?:s|den)?\b|\bbann?(?:ed|s)?\b|"
    r"\bunauthori[sz]ed\b|\bagree\s+not\s+to\b|\brefrain\s+from\b|\bno\s+(?:one|person|user|"
    r"party)?\s*(?:may|shall|is\s+permitted)\b|\bwithout\s+(?:(?:our|the|its|their|"
    r"express|explicit|prior|written|advance)\s+){0,5}(?:consent|permission|authori[sz]ation|"
    r"approval|agreement)\b|\bnot\s+to\b|\bneither\b|\bnor\b|\bexcept\s+(?:as|with)\b|"
    r"\breserv(?:e|es|ed|ing)\b|\bopt(?:s|ed)?[\s-]out\b|\brestrict(?:s|ed|ion|ions)?\b|"
    r"\bnever\b|\bno\s+(?:automated|robots?|spiders?|scrap\w*|crawl\w*|bots?)\b",
    re.IGNORECASE,
)

# A sentence ends at a line break, or at . ! ? ; and spaces before a capital letter
# or an opening quote or bracket ("Art. 4", "e.g. the" do not end one).
_BREAK = re.compile(r"\n+|(?<=[.!?;])[ \t]+")


@dataclass(frozen=True)
class RestrictiveClause:
    """One flagged sentence, what it is about, and the words that restrict."""

    sentence: str
    topics: tuple[str, ...]
    restriction: str

    def to_dict(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "topics": list(self.topics),
            "restriction": self.restriction,
        }


def sentences(text: str) -> Iterator[str]:
    """Split a normalised text into sentences (and list items, one per line)."""
    text = text[:_MAX_SCAN_CHARS]
    start = 0
    for match in _BREAK.finditer(text):
        after = text[match.end() : match.end() + 2]
        if match.group(0)[0] != "\n" and not (
            after[:1].isupper() or (after[:1] in "\"'“‘([" and after[1:2].isupper())
        ):
            continue
        piece = text[start : match.start()].strip()
        if piece:
            yield piece
        start = match.end()
    piece = text[start:].strip()
    if piece:
        yield piece


def restrictive_clauses(text: str, *, limit: int = MAX_CLAUSES) -> list[RestrictiveClause]:
    """The sentences of *text* that restrict automated access, in order, at most *limit*."""
    found: list[RestrictiveClause] = []
    seen: set[str] = set()
    for sentence in sentences(text):
        topics = tuple(label for label, pattern in _TOPICS if pattern.search(sentence))
        if not topics:
            continue
        restriction = _PROHIBITION.search(sentence)
        if restriction is None:
            continue
        if len(sentence) > MAX_SENTENCE_CHARS:
            sentence = sentence[: MAX_SENTENCE_CHARS - 3].rstrip() + "..."
        if sentence in seen:
            continue
        seen.add(sentence)
        found.append(RestrictiveClause(sentence, topics, restriction.group(0)))
        if len(found) >= limit:
            break
    return found
