"""Find a site's terms page in a page the crawl fetched anyway (no extra request).

Candidates, best first:

1. ``<a>`` / ``<link>`` with ``rel="terms-of-service"`` (the IANA link relation);
2. an ``<a href>`` whose visible text is one of :data:`TERMS_ANCHOR_TEXTS`
   ("Terms", "Terms of Service", "Terms of Use", "Conditions of Use", "Legal",
   and their usual forms in German, French, Spanish, Italian, Dutch and
   Portuguese), compared case-insensitively with whitespace folded;
3. an ``<a href>`` whose path is one of :data:`TERMS_PATHS` (``/terms``,
   ``/tos``, ``/legal``...), with or without a trailing slash or ``.html``.

Only http(s) links are candidates. Discovery never guesses a URL and fetches
it: the path list is matched against links the page already contains.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

__all__ = ["TERMS_ANCHOR_TEXTS", "TERMS_PATHS", "FoundBy", "TermsLink", "find_terms_link"]

TERMS_ANCHOR_TEXTS = frozenset(
    {
        # English
        "terms",
        "terms of service",
        "terms of use",
        "terms and conditions",
        "terms & conditions",
        "terms of sale",
        "conditions of use",
        "conditions of use & sale",
        "user agreement",
        "legal",
        "legal terms",
        "legal notice",
        "website terms",
        "site terms",
        "terms & privacy",
        # German
        "agb",
        "nutzungsbedingungen",
        "allgemeine geschäftsbedingungen",
        # French
        "conditions d'utilisation",
        "conditions d’utilisation",
        "conditions générales",
        "conditions générales d'utilisation",
        "conditions générales d’utilisation",
        "cgu",
        "mentions légales",
        # Spanish
        "términos y condiciones",
        "términos de uso",
        "condiciones de uso",
        "aviso legal",
        # Italian
        "termini e condizioni",
        "condizioni d'uso",
        "condizioni d’uso",
        "termini di utilizzo",
        # Dutch
        "algemene voorwaarden",
        "gebruiksvoorwaarden",
        # Portuguese
        "termos de uso",
        "termos e condições",
        "termos de serviço",
    }
)

TERMS_PATHS = frozenset(
    {
        "/terms",
        "/tos",
        "/terms-of-service",
        "/terms-of-use",
        "/terms-and-conditions",
        "/termsofservice",
        "/termsofuse",
        "/conditions-of-use",
        "/legal",
        "/legal/terms",
        "/legal/terms-of-service",
        "/legal/terms-of-use",
        "/policies/terms",
        "/about/terms",
        "/help/terms",
        "/agb",
        "/nutzungsbedingungen",
        "/cgu",
        "/conditions-generales",
        "/terminos",
        "/terminos-y-condiciones",
        "/condizioni",
        "/algemene-voorwaarden",
        "/termos",
    }
)

_SPACE = re.compile(r"\s+")
_PATH_SUFFIX = re.compile(r"(?:/|\.html?|\.php|\.aspx?)$", re.IGNORECASE)
_MAX_LINKS = 5000  # anchors looked at per page; a footer is near the end, so count from both


class FoundBy(str, enum.Enum):
    """How a terms link was found (strongest first)."""

    REL = "rel=terms-of-service"
    ANCHOR_TEXT = "anchor-text"
    PATH = "path"


@dataclass(frozen=True)
class TermsLink:
    url: str
    found_by: FoundBy
    text: str  # the anchor text, folded (empty for <link>)


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower().rstrip(":").strip()


def _path_key(url: str) -> str:
    path = urlsplit(url).path.lower()
    while True:
        shorter = _PATH_SUFFIX.sub("", path)
        if shorter == path:
            return path or "/"
        path = shorter


def _absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts._replace(fragment="").geturl()


def find_terms_link(html: str | bytes, base_url: str) -> TermsLink | None:
    """The best terms-page link in *html* (resolved against *base_url*), or ``None``."""
    if not html:
        return None
    parser = lxml.html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, recover=True
    )
    try:
        root = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    base = base_url
    for element in root.iter("base"):
        resolved = _absolute(base_url, element.get("href"))
        if resolved:
            base = resolved
        break
    by_text: TermsLink | None = None
    by_path: TermsLink | None = None
    links = list(root.iter("a", "link"))
    if len(links) > _MAX_LINKS:
        links = links[: _MAX_LINKS // 2] + links[-_MAX_LINKS // 2 :]
    for element in links:
        rel = (element.get("rel") or "").lower().split()
        url = _absolute(base, element.get("href"))
        if url is None:
            continue
        text = _fold(element.text_content()) if element.tag == "a" else ""
        if "terms-of-service" in rel:
            return TermsLink(url, FoundBy.REL, text)
        if element.tag != "a":
            continue
        if by_text is None and text in TERMS_ANCHOR_TEXTS:
            by_text = TermsLink(url, FoundBy.ANCHOR_TEXT, text)
        elif by_path is None and _path_key(url) in TERMS_PATHS:
            by_path = TermsLink(url, FoundBy.PATH, text)
    return by_text or by_path


def is_terms_path(url: str) -> bool:
    """Whether *url*'s path is one of the common terms paths."""
    return _path_key(url) in TERMS_PATHS
