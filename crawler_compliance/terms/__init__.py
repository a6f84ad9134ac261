"""Site terms of service, watched: normalised, fingerprinted, diffed, discovered.

Plain Python (no Scrapy, no Twisted, no I/O): the adapters fetch terms pages
and hand the bytes here. See ``README.md``, "Terms of service".
"""

from __future__ import annotations

from crawler_compliance.terms._clauses import RestrictiveClause, restrictive_clauses, sentences
from crawler_compliance.terms._diff import change_excerpt, unified_diff
from crawler_compliance.terms._discover import (
    TERMS_ANCHOR_TEXTS,
    TERMS_PATHS,
    FoundBy,
    TermsLink,
    find_terms_link,
    is_terms_path,
)
from crawler_compliance.terms._normalize import (
    COOKIE_BANNER_TOKENS,
    DEFAULT_MAX_BYTES,
    NormalizedTerms,
    PageKind,
    fingerprint,
    normalize_body,
    normalize_html,
    normalize_text,
)
from crawler_compliance.terms._page import (
    TermsPage,
    TermsStatus,
    terms_from_fetch,
    terms_from_fetched,
)
from crawler_compliance.terms._watch import (
    DISCOVERED_EVENT,
    Discovery,
    TermsWatch,
    discovery_reason,
    observe,
    site_key,
)

__all__ = [
    "COOKIE_BANNER_TOKENS",
    "DEFAULT_MAX_BYTES",
    "DISCOVERED_EVENT",
    "TERMS_ANCHOR_TEXTS",
    "TERMS_PATHS",
    "Discovery",
    "FoundBy",
    "NormalizedTerms",
    "PageKind",
    "RestrictiveClause",
    "TermsLink",
    "TermsPage",
    "TermsStatus",
    "TermsWatch",
    "change_excerpt",
    "discovery_reason",
    "find_terms_link",
    "fingerprint",
    "is_terms_path",
    "normalize_body",
    "normalize_html",
    "normalize_text",
    "observe",
    "restrictive_clauses",
    "sentences",
    "site_key",
    "terms_from_fetch",
    "terms_from_fetched",
    "unified_diff",
]
