"""What a terms-page fetch outcome means, as a pure function.

The adapters fetch (Scrapy through its engine, the CLI with urllib) and hand
the outcome here, so every adapter applies one rule:

=================================================  ===========  =========================
outcome                                            status       meaning
=================================================  ===========  =========================
2xx, an HTML or text body within the size cap      FETCHED      normalised, fingerprinted
2xx, a body over the cap (after decompression)     UNREACHABLE  ``too-large``
2xx, binary / undecodable / non-text media type    UNREACHABLE  ``not-a-page``
3xx not followed, a loop, more than 5 hops         UNREACHABLE  ``redirect-loop`` / ...
4xx, 5xx, any other status                         UNREACHABLE  the status
timeout, DNS, connection, TLS, blocked by registry UNREACHABLE  the error
=================================================  ===========  =========================

A watched terms page that is UNREACHABLE is decided by the policy's
``terms.on_unreachable`` (``deny`` by default): the crawl cannot confirm the
reviewed terms still apply. A page over the cap is not fingerprinted from its
start, since a change past the cap would go unseen.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler_compliance.terms._clauses import RestrictiveClause, restrictive_clauses
from crawler_compliance.terms._normalize import (
    DEFAULT_MAX_BYTES,
    NormalizedTerms,
    normalize_body,
)

__all__ = ["TermsPage", "TermsStatus", "terms_from_fetch", "terms_from_fetched"]


class TermsStatus(str, enum.Enum):
    FETCHED = "fetched"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class TermsPage:
    """A terms page as fetched now.

    ``status`` is FETCHED with ``normalized`` set, or UNREACHABLE with
    ``problem`` in plain words. ``detail`` is short, for the audit log:
    ``"200"``, ``"503"``, ``"timeout"``, ``"too-large"``, ``"not-a-page"``...
    """

    url: str
    status: TermsStatus
    detail: str
    normalized: NormalizedTerms | None = None
    problem: str | None = None
    redirects: tuple[str, ...] = ()
    clauses: tuple[RestrictiveClause, ...] = ()  # sentences restricting automated access

    @property
    def sha256(self) -> str | None:
        return self.normalized.sha256 if self.normalized is not None else None

    @property
    def text(self) -> str:
        return self.normalized.text if self.normalized is not None else ""


def terms_from_fetch(
    url: str,
    *,
    status: int | None,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    error: str | None = None,
    redirects: Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    truncated: bool = False,
) -> TermsPage:
    """Decide what one terms fetch outcome is (see the module table).

    ``error`` is a short code (``timeout``, ``dns-error``, ``redirect-loop``,
    ``too-large``, ``blocked: ...``); ``truncated`` says the fetcher stopped
    reading at its cap. ``headers`` have lower-case names.
    """
    chain = tuple(redirects)

    def unreachable(detail: str, problem: str) -> TermsPage:
        return TermsPage(url, TermsStatus.UNREACHABLE, detail, problem=problem, redirects=chain)

    if error is not None:
        return unreachable(error.split(":", 1)[0], f"the terms page could not be fetched: {error}")
    if status is None:
        return unreachable("fetch-error", "the terms page could not be fetched")
    if 300 <= status < 400:
        return unreachable(
            "redirect-not-followed", f"the terms page answered {status} (a redirect not followed)"
        )
    if not 200 <= status < 300:
        return unreachable(str(status), f"the terms page answered HTTP {status}")
    if truncated or len(body) > max_bytes:
        return unreachable(
            "too-large", f"the terms page is larger than {max_bytes // 1024} KiB; not compared"
        )
    normalized = normalize_body(body, headers or {}, max_bytes=max_bytes)
    if not normalized.ok:
        return unreachable("not-a-page", f"the terms page cannot be read: {normalized.problem}")
    if normalized.truncated:
        return unreachable(
            "too-large",
            f"the terms page decompresses to more than {max_bytes // 1024} KiB; not compared",
        )
    if not normalized.text:
        return unreachable("empty", "the terms page has no visible text")
    return TermsPage(
        url,
        TermsStatus.FETCHED,
        str(status),
        normalized,
        redirects=chain,
        clauses=tuple(restrictive_clauses(normalized.text)),
    )


def terms_from_fetched(fetched: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> TermsPage:
    """:func:`terms_from_fetch` for an adapter's ``FetchedFile`` (the engine's fetcher)."""
    error = fetched.error
    if error is not None:
        detail = getattr(fetched, "detail", "")
        error = f"{error.value}: {detail}" if detail else error.value
    return terms_from_fetch(
        fetched.url,
        status=fetched.status,
        body=fetched.body,
        headers=fetched.headers,
        error=error,
        redirects=fetched.redirects,
        max_bytes=max_bytes,
    )
