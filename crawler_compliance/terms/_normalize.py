"""A terms page as the text a person reads, and its fingerprint.

Two fetches of the same terms page differ in many ways that are not a change
of terms: scripts, styles, navigation, cookie banners, whitespace, CSRF tokens
and build ids in attributes, "last visited" timestamps. The rule below keeps
what a reader sees as the terms and drops the rest, so that only a material
edit changes the fingerprint (the SHA-256 of the normalised text, UTF-8).

The rule, in order (also in the README, "Terms of service → Normalisation"):

1. **Bytes to text.** A gzip body (magic ``1f 8b``) is decompressed, at most
   ``max_bytes`` octets. The character set is taken from the byte order mark,
   then the ``Content-Type`` charset, then ``<meta charset>`` /
   ``<meta http-equiv>``, then the body itself (valid UTF-8 is UTF-8,
   anything else windows-1252, the WHATWG default for unlabelled pages); this
   is w3lib's ``html_to_unicode``, the routine Scrapy itself uses. Bodies that
   are not text (a declared non-text media type, or more than 5 % control
   characters) are refused, never fingerprinted.
2. **HTML to visible text** with lxml's HTML parser (comments and processing
   instructions dropped). Removed with everything inside them: ``head``,
   ``script``, ``style``, ``noscript``, ``template``, ``iframe``, ``object``,
   ``embed``, ``svg``, ``canvas``, ``nav``, ``aside``, form controls
   (``input``, ``select``, ``button``), ``dialog`` that is not ``open``;
   ``header`` and ``footer`` when they are page-wide (not inside
   ``article``, ``aside``, ``main``, ``nav`` or ``section``, as HTML-AAM maps
   them to the banner and contentinfo landmarks); elements with the ARIA roles
   ``navigation``, ``banner``, ``contentinfo``, ``complementary``, ``search``;
   hidden elements (``hidden`` attribute, ``aria-hidden="true"``, inline
   ``display: none`` / ``visibility: hidden``); cookie and consent banners
   (:data:`COOKIE_BANNER_TOKENS`, matched on ``id`` and ``class`` tokens, and
   dialogs or regions whose ``aria-label`` mentions cookies or consent).
   ``html``, ``body``, ``main`` and ``article`` are never removed as banners.
   No attribute value is ever part of the text.
3. **Lines.** Block elements (paragraphs, headings, list items, table rows,
   ``br``...) end a line; table cells are separated by a space. In each line
   Unicode whitespace runs become one space, zero-width characters and soft
   hyphens are dropped, and the line is trimmed; empty lines are dropped. The
   text is Unicode NFC.
4. **Timestamps.** A date or time (ISO 8601, ``01/12/2026``, ``March 3,
   2026``, ``3 March 2026``, ``10:32 GMT``, ``5 minutes ago``) that follows,
   within four words, "(last) visited / viewed / accessed / updated / modified
   / refreshed / generated / retrieved / loaded / checked / rendered /
   printed" or "last login" is replaced by ``[date]``, and so is a line that
   holds nothing but dates and times. Other dates ("these terms apply from 1
   January 2026") are content and kept. A real change of terms almost always changes more than its
   "last updated" line, and that change is kept.

``text/plain`` bodies go through steps 1, 3 and 4.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import lxml.etree
import lxml.html
from w3lib.encoding import html_to_unicode

__all__ = [
    "COOKIE_BANNER_TOKENS",
    "DEFAULT_MAX_BYTES",
    "NormalizedTerms",
    "PageKind",
    "fingerprint",
    "normalize_body",
    "normalize_html",
    "normalize_text",
]

DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # the longest real terms pages are a few hundred KiB of HTML

# Substrings of id / class tokens that mark a cookie or consent banner: the
# usual CSS names and the consent-management products seen on real sites.
COOKIE_BANNER_TOKENS = (
    "cookie-banner",
    "cookiebanner",
    "cookie-bar",
    "cookiebar",
    "cookie-notice",
    "cookienotice",
    "cookie-consent",
    "cookieconsent",
    "cookie-law",
    "cookie-popup",
    "cookie-modal",
    "cookie-wall",
    "cookies-banner",
    "consent-banner",
    "consent-modal",
    "consent-dialog",
    "gdpr-banner",
    "gdpr-consent",
    "cc-window",
    "cc-banner",
    "onetrust",
    "cybotcookiebot",
    "cookiebot",
    "usercentrics",
    "didomi",
    "truste",
    "osano",
    "qc-cmp",
    "cmplz",
    "iubenda",
    "klaro",
    "sp_message",
    "fc-consent",
)

_DROP_TAGS = frozenset(
    {
        "head",
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "nav",
        "aside",
        "select",
        "button",
    }
)
_LANDMARK_TAGS = frozenset({"header", "footer"})
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_NEVER_BANNER = frozenset({"html", "body", "main", "article"})
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "legend",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_CONSENT_LABEL = re.compile(r"cookie|consent", re.IGNORECASE)
_BANNER_ROLES = frozenset({"dialog", "alertdialog", "region", "alert"})

_SPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))

# --- timestamps ----------------------------------------------------------------------
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
_TIME = (
    r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*(?:z|utc|gmt|[ecmp][sd]t|cet|cest|bst)\b|\s*[+-]\d{2}:?\d{2})?"
)
_DATE = (
    rf"(?:{_WEEKDAY}\s*)?(?:"
    r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{4}}"
    r"|\d+\s+(?:seconds?|minutes?|hours?|days?)\s+ago"
    r")"
)
_STAMP = rf"(?:{_DATE}(?:,?\s*(?:at\s+)?{_TIME})?|{_TIME}(?:,?\s*(?:on\s+)?{_DATE})?)"
_CUE = (
    r"(?:last\s+)?(?:visited|viewed|accessed|updated|modified|refreshed|generated|retrieved|"
    r"loaded|checked|crawled|synced|seen|rendered|printed)|last\s+(?:login|logged\s+in)"
)
# The cue, then at most four words ("this page at", "on the site on"), then the stamp.
_CUED_STAMP = re.compile(rf"(\b(?:{_CUE})\b(?:\W+\w+){{0,4}}?[\s:,-]+){_STAMP}", re.IGNORECASE)
_ONLY_STAMPS = re.compile(
    rf"^[\s(\[]*(?:{_STAMP})(?:[\s,;|/()\[\]-]*(?:at|on)?\s*(?:{_STAMP}))*[\s.)\]]*$",
    re.IGNORECASE,
)
DATE_MASK = "[date]"

# No Content-Type: a body with one of these tags is HTML (the WHATWG sniffing table's tags).
_HTML_SNIFF = re.compile(
    r"<(?:!doctype\s+html|html|head|body|script|style|iframe|h1|div|font|table|a|b|br|p|"
    r"title|meta|main|!--)[\s>/]",
    re.IGNORECASE,
)
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")


class PageKind(str, enum.Enum):
    """What a fetched terms body turned out to be."""

    HTML = "html"
    TEXT = "text"
    REFUSED = "refused"  # not text: binary, undecodable, a non-text media type


@dataclass(frozen=True)
class NormalizedTerms:
    """The normalised text of a terms page and its SHA-256.

    ``kind`` is :attr:`PageKind.REFUSED` (with ``problem`` saying why, and
    empty ``text`` / ``sha256``) when the body is not a readable page.
    ``truncated``: the body was longer than the cap; only its start was read.
    """

    kind: PageKind
    text: str
    sha256: str
    encoding: str | None
    truncated: bool = False
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind is not PageKind.REFUSED


def fingerprint(text: str) -> str:
    """SHA-256 (hex) of a normalised text, as recorded in ``terms.sha256``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fold_line(line: str) -> str:
    return _SPACE.sub(" ", line.translate(_INVISIBLE)).strip()


def _mask(line: str) -> str:
    if _ONLY_STAMPS.match(line):
        return DATE_MASK
    return _CUED_STAMP.sub(lambda m: m.group(1) + DATE_MASK, line)


def _finish(lines: list[str]) -> str:
    out = []
    for raw in lines:
        line = _fold_line(unicodedata.normalize("NFC", raw))
        if line:
            out.append(_mask(line))
    return "\n".join(out) + ("\n" if out else "")


def normalize_text(text: str) -> str:
    """Normalise plain text: NFC, whitespace folded per line, timestamps masked."""
    return _finish(text.splitlines())


def _tokens(element: lxml.etree._Element) -> list[str]:
    found = [element.get("id") or ""]
    found.extend((element.get("class") or "").split())
    return [t.lower() for t in found if t]


def _is_banner(element: lxml.etree._Element) -> bool:
    if element.tag in _NEVER_BANNER:
        return False
    for token in _tokens(element):
        if any(marker in token for marker in COOKIE_BANNER_TOKENS):
            return True
    role = (element.get("role") or "").strip().lower()
    if role in _BANNER_ROLES or element.tag == "dialog":
        label = element.get("aria-label") or ""
        if _CONSENT_LABEL.search(label):
            return True
    return False


def _dropped(element: lxml.etree._Element, ancestors: list[str]) -> bool:
    tag = element.tag
    if tag in _DROP_TAGS:
        return True
    if tag in _LANDMARK_TAGS and not _SECTIONING.intersection(ancestors):
        return True
    if tag == "dialog" and element.get("open") is None:
        return True
    if tag == "input":
        return True  # its text is an attribute (a value, often a CSRF token)
    if element.get("hidden") is not None:
        return True
    if (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    if _HIDDEN_STYLE.search(element.get("style") or ""):
        return True
    role = (element.get("role") or "").strip().lower()
    if role in _DROP_ROLES:
        return True
    return _is_banner(element)


def normalize_html(html: str) -> str:
    """The visible text of an HTML document, normalised (see the module docstring)."""
    if not html.strip():
        return ""
    parser = lxml.html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, recover=True
    )
    try:
        root = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        # Nothing lxml could build a tree from (e.g. only a comment): no visible text.
        return ""
    lines: list[str] = []
    current: list[str] = []
    ancestors: list[str] = []  # tags of the open elements, for the landmark rule
    skipped: set[lxml.etree._Element] = set()

    def newline() -> None:
        if current:
            lines.append("".join(current))
            current.clear()

    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if not isinstance(tag, str):  # comments and PIs the parser kept
            if event == "end" and element.tail:
                current.append(element.tail)
            continue
        tag = tag.lower()
        if event == "start":
            if _dropped(element, ancestors):
                skipped.add(element)
                walker.skip_subtree()
                continue
            ancestors.append(tag)
            if tag in _BLOCK_TAGS:
                newline()
            elif tag in _CELL_TAGS:
                current.append(" ")
            if element.text:
                current.append(element.text)
            continue
        if element in skipped:
            skipped.discard(element)
            if tag in _BLOCK_TAGS or tag in _DROP_TAGS:
                newline()
        else:
            ancestors.pop()
            if tag in _BLOCK_TAGS:
                newline()
            elif tag in _CELL_TAGS:
                current.append(" ")
        if element.tail:
            current.append(element.tail)
    newline()
    return _finish(lines)


def _media_type(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    value = headers.get("content-type")
    if not value:
        return None, None
    return value.split(";", 1)[0].strip().lower() or None, value


def _decompress(body: bytes, max_bytes: int) -> tuple[bytes | None, bool]:
    decompressor = zlib.decompressobj(47)  # 32 + 15: a gzip or zlib header, detected
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except zlib.error:
        return None, False
    truncated = len(data) > max_bytes
    if not truncated and not decompressor.eof:
        return None, False  # the stream ends early: cut off, or not compressed data at all
    return data[:max_bytes], truncated


def _refused(problem: str, encoding: str | None = None, truncated: bool = False) -> NormalizedTerms:
    return NormalizedTerms(PageKind.REFUSED, "", "", encoding, truncated, problem)


def _detect(body: bytes) -> str:
    """Unlabelled bytes: UTF-8 when they are valid UTF-8, else windows-1252 (WHATWG default)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut at the size cap may split the last character: that alone is still UTF-8.
        if exc.start < len(body) - 3:
            return "cp1252"
    return "utf-8"


def normalize_body(
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> NormalizedTerms:
    """Normalise a fetched terms body (``headers`` with lower-case names).

    Never raises for any input: what is not a readable page comes back as
    :attr:`PageKind.REFUSED` with the reason.
    """
    headers = headers or {}
    truncated = False
    encoding_header = (headers.get("content-encoding") or "").strip().lower()
    if body[:2] == b"\x1f\x8b" or encoding_header in ("gzip", "x-gzip", "deflate"):
        data, truncated = _decompress(body, max_bytes)
        if data is None:
            if body[:2] == b"\x1f\x8b" or encoding_header != "deflate":
                return _refused("the body is compressed but does not decompress")
            data = body  # a server that says deflate but sends plain text
        body = data
    if len(body) > max_bytes:
        body, truncated = body[:max_bytes], True
    media, content_type = _media_type(headers)
    if media is not None and media not in _TEXT_TYPES and not media.startswith("text/"):
        return _refused(f"the terms page is {media}, not an HTML or text page", None, truncated)
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _refused("the body is binary, not a page", None, truncated)
    try:
        encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    except (LookupError, ValueError) as exc:
        return _refused(f"the body cannot be decoded: {exc}", None, truncated)
    sample = text[:65536]
    if sample and len(_NOT_TEXT.findall(sample)) > max(4, 0.05 * len(sample)):
        return _refused("the body is not text (binary or an unknown encoding)", encoding, truncated)
    looks_html = media in ("text/html", "application/xhtml+xml") or (
        media is None and _HTML_SNIFF.search(sample)
    )
    if looks_html:
        normalised, kind = normalize_html(text), PageKind.HTML
    else:
        normalised, kind = normalize_text(text), PageKind.TEXT
    return NormalizedTerms(kind, normalised, fingerprint(normalised), encoding, truncated)
