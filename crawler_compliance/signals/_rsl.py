"""RSL 1.0 licences (Really Simple Licensing, rslstandard.org/rsl), read safely.

A licence is found through a robots.txt ``License:`` line or a ``Link: <…>;
rel="license"`` response header. It lists ``<content url=…>`` patterns
(a full URL, or an RFC 9309 path pattern with ``*`` and ``$``), each with one
or more ``<license>`` elements holding ``<permits type="usage">`` /
``<prohibits type="usage">`` tokens (``all``, ``ai-all``, ``ai-train``,
``ai-input``, ``ai-index``, ``search``) and ``<payment type=…>`` terms; a
``server`` attribute names a licence server from which a licence must be
obtained even when free.

How we read it for a URL (most restrictive wins):

* the most specific ``<content>`` covering the URL applies (longest pattern);
* a usage in ``<prohibits type="usage">`` refuses the purposes it covers;
* when ``<permits type="usage">`` is present, purposes it does not cover are
  refused (a licence grants what it lists);
* a ``server`` attribute, or a ``<payment>`` other than ``free`` (or
  ``attribution``), refuses every purpose unless a site permission's ``rsl``
  override names this licence URL;
* a licence we cannot read refuses the AI purposes.

Parsing is hardened: at most :data:`MAX_BYTES`, a document with a DTD or an
entity declaration is refused before parsing (billion laughs, external
entities), and lxml parses with entity resolution, DTD loading and network
access all off.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler_compliance._purpose import Purpose
from crawler_compliance.robots import path_pattern, pattern_length, url_path
from crawler_compliance.signals._table import ALL_PURPOSES, Finding, Signal

__all__ = [
    "MAX_BYTES",
    "RslLicence",
    "RslState",
    "licence_from_fetch",
    "licence_from_fetched",
    "link_licences",
]

MAX_BYTES = 512 * 1024
NAMESPACE = "https://rslstandard.org/rsl"
_AI = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT})
USAGE: dict[str, frozenset[Purpose]] = {
    "all": ALL_PURPOSES,
    "ai-all": _AI,
    "ai-train": frozenset({Purpose.AI_TRAINING}),
    "train-ai": frozenset({Purpose.AI_TRAINING}),  # pre-1.0 drafts' templates
    "ai-input": frozenset({Purpose.AI_INPUT}),
    "ai-index": frozenset({Purpose.AI_INPUT}),
    "search": frozenset({Purpose.SEARCH_INDEXING}),
}
_FREE = frozenset({"free", "attribution"})
_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class RslState(str, enum.Enum):
    OK = "ok"
    UNREADABLE = "unreadable"
    NOT_RSL = "not-rsl"  # a rel="license" link to something else (a Creative Commons page)


@dataclass(frozen=True)
class _Terms:
    permits: frozenset[str] | None
    prohibits: frozenset[str]
    payment: str | None  # the payment type when one is required
    line: int | None


@dataclass(frozen=True)
class _Content:
    pattern: str
    host: tuple[str, str] | None  # (scheme, netloc) of a full-URL pattern
    server: str | None
    terms: tuple[_Terms, ...]
    line: int | None
    matches: Callable[[str], bool] = field(compare=False, repr=False)
    specificity: tuple[int, bool] = (0, False)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _tokens(element: etree._Element) -> frozenset[str]:
    return frozenset(t for t in re.split(r"[\s,]+", (element.text or "").strip().lower()) if t)


def _terms(licence: etree._Element) -> _Terms:
    permits: set[str] | None = None
    prohibits: set[str] = set()
    payment = None
    for child in licence:
        name = _local(child.tag)
        kind = (child.get("type") or "usage").strip().lower()
        if name == "permits" and kind == "usage":
            permits = (permits or set()) | _tokens(child)
        elif name == "prohibits" and kind == "usage":
            prohibits |= _tokens(child)
        elif name == "payment":
            paid = (child.get("type") or "").strip().lower()
            if not paid:
                # No type: free unless it states an amount.
                has_amount = any(_local(c.tag) == "amount" for c in child.iter())
                paid = "purchase" if has_amount else "free"
            if paid not in _FREE:
                payment = paid
    return _Terms(
        frozenset(permits) if permits is not None else None,
        frozenset(prohibits),
        payment,
        licence.sourceline,
    )


@dataclass(frozen=True)
class RslLicence:
    """One fetched licence document, or why it cannot be used."""

    url: str
    state: RslState
    status: str
    contents: tuple[_Content, ...] = ()
    problem: str | None = None

    @classmethod
    def parse(
        cls, url: str, body: bytes, *, status: str = "200", declared: bool = True
    ) -> RslLicence:
        """Parse a licence body. ``declared``: named by robots.txt ``License:`` (so it must be
        RSL); a ``Link rel="license"`` target that is not RSL is merely ignored."""

        def bad(problem: str) -> RslLicence:
            return cls(url, RslState.UNREADABLE, status, problem=problem)

        if len(body) > MAX_BYTES:
            return bad(f"licence is larger than {MAX_BYTES // 1024} KiB")
        if _DANGEROUS.search(body):
            return bad("licence declares a DTD or entities, which RSL never needs: refused")
        try:
            root = etree.fromstring(body, _parser())
        except etree.XMLSyntaxError as exc:
            if not declared:
                return cls(url, RslState.NOT_RSL, status, problem="not XML")
            return bad(f"licence is not well-formed XML ({str(exc)[:80]})")
        if root is None or _local(root.tag) not in ("rsl", "rss"):
            if not declared:
                return cls(url, RslState.NOT_RSL, status, problem="not an RSL document")
            found = _local(root.tag) if root is not None else ""
            return bad(f"licence root element is <{found}>, not <rsl>")
        contents = []
        for element in root.iter():
            if _local(element.tag) != "content":
                continue
            pattern = (element.get("url") or "").strip()
            if not pattern:
                return bad(f"<content> on line {element.sourceline} has no url")
            host = None
            if pattern.startswith(("http://", "https://")):
                parts = urlsplit(pattern)
                host = (parts.scheme, parts.netloc.lower())
                pattern = parts.path or "/"
                if parts.query:
                    pattern += "?" + parts.query
            elif not pattern.startswith(("/", "*")):
                return bad(f"<content url={pattern!r}> on line {element.sourceline} is not a path")
            terms = tuple(_terms(c) for c in element if _local(c.tag) == "license")
            server = (element.get("server") or "").strip() or None
            contents.append(
                _Content(
                    pattern,
                    host,
                    server,
                    terms,
                    element.sourceline,
                    path_pattern(pattern),
                    # Longest pattern wins; on a tie, one naming the host beats a bare path.
                    (pattern_length(pattern), host is not None),
                )
            )
        if not contents:
            return bad("licence has no <content> element")
        return cls(url, RslState.OK, status, tuple(contents))

    def _content_for(self, page_url: str) -> _Content | None:
        parts = urlsplit(page_url)
        path = url_path(page_url)
        best: _Content | None = None
        for content in self.contents:
            if content.host is not None and content.host != (parts.scheme, parts.netloc.lower()):
                continue
            if content.matches(path) and (best is None or content.specificity > best.specificity):
                best = content
        return best

    def findings(self, page_url: str) -> list[Finding]:
        where = f"RSL licence {self.url}"
        if self.state is RslState.NOT_RSL:
            return [
                Finding(
                    Signal.RSL,
                    "not an RSL licence",
                    where,
                    frozenset(),
                    source=self.url,
                    licence=self.url,
                    detail=self.problem or "",
                )
            ]
        if self.state is RslState.UNREADABLE:
            return [
                Finding(
                    Signal.RSL,
                    "licence unreadable",
                    where,
                    _AI,
                    source=self.url,
                    licence=self.url,
                    detail=f"{self.problem} (fetch {self.status}): fail closed",
                )
            ]
        content = self._content_for(page_url)
        if content is None:
            return [
                Finding(
                    Signal.RSL,
                    "no <content> covers this URL",
                    where,
                    frozenset(),
                    source=self.url,
                    licence=self.url,
                )
            ]
        at = f"{where}, <content url={content.pattern!r}>"
        found: list[Finding] = []

        def add(value: str, binds: frozenset[Purpose], line: int | None, detail: str = "") -> None:
            found.append(
                Finding(
                    Signal.RSL,
                    value,
                    at,
                    binds,
                    source=self.url,
                    line=line,
                    detail=detail,
                    licence=self.url,
                )
            )

        if content.server:
            add(
                f"licence server {content.server}",
                ALL_PURPOSES,
                content.line,
                "a licence must be obtained from the server, even when free",
            )
        if not content.terms:
            add("no <license> terms", frozenset(), content.line)
        for terms in content.terms:
            for token in sorted(terms.prohibits):
                add(f"prohibits {token}", USAGE.get(token, frozenset()), terms.line)
            if terms.permits is not None:
                permitted: frozenset[Purpose] = frozenset().union(
                    *(USAGE.get(t, frozenset()) for t in terms.permits)
                )
                listed = ",".join(sorted(terms.permits)) or "nothing"
                add(f"permits only {listed}", ALL_PURPOSES - permitted, terms.line)
            if terms.payment:
                add(f"payment {terms.payment} required", ALL_PURPOSES, terms.line)
        return found


def licence_from_fetch(
    url: str,
    *,
    status: int | None,
    body: bytes = b"",
    error: str | None = None,
    declared: bool = True,
) -> RslLicence:
    """A licence fetch outcome as an :class:`RslLicence`; any failure is unreadable."""
    if error is not None or status is None:
        text = error or "no response"
        return RslLicence(url, RslState.UNREADABLE, text, problem=f"licence fetch: {text}")
    if not 200 <= status < 300:
        return RslLicence(
            url, RslState.UNREADABLE, str(status), problem=f"licence answered {status}"
        )
    return RslLicence.parse(url, body, status=str(status), declared=declared)


def licence_from_fetched(fetched: Any, *, declared: bool = True) -> RslLicence:
    """:func:`licence_from_fetch` from an adapter's fetch result (``url``, ``status``,
    ``body``, ``error``), e.g. the engine fetcher's ``FetchedFile``."""
    from crawler_compliance.signals._tdmrep import fetch_error_text

    return licence_from_fetch(
        str(fetched.url),
        status=fetched.status,
        body=bytes(fetched.body or b""),
        error=fetch_error_text(fetched),
        declared=declared,
    )


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")


def link_licences(values: list[str] | tuple[str, ...], base_url: str) -> list[str]:
    """Licence URLs from ``Link`` header values with ``rel="license"`` (RFC 8288).

    A link whose ``type`` is given and is not ``application/rsl+xml`` (an HTML
    Creative Commons deed, say) is skipped.
    """
    found: list[str] = []
    for value in values:
        for match in _LINK.finditer(value):
            target, params = match.group(1).strip(), match.group(2)
            attrs: dict[str, str] = {}
            for param in params.split(";"):
                key, sep, val = param.partition("=")
                if sep:
                    attrs[key.strip().lower()] = val.strip().strip('"').strip()
            rels = attrs.get("rel", "").lower().split()
            if "license" not in rels:
                continue
            media = attrs.get("type", "").lower()
            if media and media != "application/rsl+xml":
                continue
            absolute = urljoin(base_url, target)
            if absolute.startswith(("http://", "https://")) and absolute not in found:
                found.append(absolute)
    return found[:8]
