"""RFC 9309 path patterns for other formats that borrow them (TDMRep, RSL).

TDMRep's ``location`` and RSL's ``<content url>`` are robots.txt-style path
patterns (``*`` any run of octets, a final ``$`` the end of the path, percent
encoding normalised). One implementation serves all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from crawler_compliance.robots._matcher import wildcard_matcher
from crawler_compliance.robots._normalize import normalize_pattern, request_path


def url_path(url: str) -> str:
    """The normalised path and query of *url*, as :func:`path_pattern` predicates take it."""
    return request_path(url)


def path_pattern(pattern: str) -> Callable[[str], bool]:
    """A predicate telling whether a normalised path (:func:`url_path`) is under ``pattern``.

    ``path_pattern("/news/*.html$")(url_path("https://e.com/news/a.html"))`` is
    true. Matching is case-sensitive, on the normalised path and query, like an
    RFC 9309 rule. Compile once, match many paths.
    """
    normal = normalize_pattern(pattern)
    if "*" in normal:
        return wildcard_matcher(normal)
    if normal.endswith("$"):
        exact = normal[:-1]
        return lambda path: path == exact
    return lambda path: path.startswith(normal)


def pattern_length(pattern: str) -> int:
    """Octets of the normalised pattern: the longer, the more specific (RFC 9309 §2.2.2)."""
    return len(normalize_pattern(pattern))
