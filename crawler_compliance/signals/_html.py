"""``<meta name=… content=…>`` from the head of an HTML document, and nothing else.

Only what the HTML parsing algorithm would put in ``<head>`` counts: the scan
stops at ``</head>``, at ``<body>``, at any element that cannot be in a head
(``<p>``, ``<div>``, ``<img>``…) and at the first text outside ``<title>``,
``<script>``, ``<style>``, since each of those starts the body. A meta tag
in the body is not a page-level signal (and may be user content). The
tokenizer is the standard library's :class:`html.parser.HTMLParser`; the
input is a bounded prefix, and bodies that are not HTML are never parsed.
"""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["MAX_HEAD_BYTES", "head_metas", "is_html"]

MAX_HEAD_BYTES = 256 * 1024
_HEAD_ELEMENTS = frozenset(
    {"html", "head", "meta", "link", "title", "style", "script", "base", "noscript", "template"}
)
_RAW_TEXT = frozenset({"title", "style", "script", "noscript", "template"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_MAX_METAS = 512


class _HeadEnd(Exception):
    """Raised inside the parser when the head is over."""


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[tuple[str, str]] = []
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HEAD_ELEMENTS:
            raise _HeadEnd
        if tag == "meta":
            values = {key.lower(): (value or "") for key, value in attrs}
            name = values.get("name")
            if name is not None and "content" in values and len(self.metas) < _MAX_METAS:
                self.metas.append((name.strip().lower(), values["content"]))
        elif tag in _RAW_TEXT:
            self._raw = tag
            if tag == "title":
                # <title> holds text only (HTML: escapable raw text): a "<meta>" in it is text.
                self.set_cdata_mode(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _RAW_TEXT:
            self._raw = None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "body", "html"):
            raise _HeadEnd
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is None and data.strip(" \t\n\r\f\ufeff"):
            raise _HeadEnd  # text starts the body


def is_html(content_type: str | None, body: bytes) -> bool:
    """Whether a body may be scanned as HTML: an HTML media type and no NUL octets."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in _HTML_TYPES and b"\x00" not in body[:1024]


def head_metas(body: bytes, *, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """``(name lower-case, content)`` of each ``<meta name>`` in the document's head."""
    head = body[:MAX_HEAD_BYTES]
    try:
        text = head.decode(encoding, "replace")
    except LookupError:  # an unknown charset label: the usual one
        text = head.decode("utf-8", "replace")
    text = text.lstrip("\ufeff")
    parser = _HeadParser()
    try:
        parser.feed(text)
        parser.close()
    except _HeadEnd:
        pass
    return parser.metas
