"""Decisions after the fetch: what a response says about its own use.

A site can reserve a use in the response itself (``X-Robots-Tag``, meta
robots, TDMRep headers, ``Content-Usage``) or a page can tell us about the
site (a terms-of-service link). Observers read a bounded, adapter-neutral
view of the response and return reasons; a denying reason means the content
was fetched and is discarded before anyone uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from crawler_compliance._decision import Reason

__all__ = ["BODY_HEAD_BYTES", "ResponseObserver", "ResponseView", "is_htmlish"]

BODY_HEAD_BYTES = 256 * 1024
"""How much of an HTML body observers may read (meta tags live in the head)."""


def is_htmlish(content_type: str) -> bool:
    """Whether a body of this ``Content-Type`` may be read as HTML."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class ResponseView:
    """What observers may see of a response: headers always, the body's head only for HTML."""

    url: str
    status: int
    headers: Mapping[str, tuple[str, ...]]  # lower-case names -> every value, in order
    content_type: str
    body_head: bytes  # at most BODY_HEAD_BYTES, and only when is_htmlish(content_type)
    body_size: int

    def header(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())


class ResponseObserver(Protocol):
    """Reads a response; returns reasons (DENY drops the response)."""

    def observe(self, view: ResponseView) -> list[Reason]: ...
