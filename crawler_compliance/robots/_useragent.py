"""Product tokens: the name a crawler is known by in robots.txt.

RFC 9309 §2.2.1: a crawler matches a group by its *product token*, compared
case-insensitively and exactly ("mybot" does not match "bot" nor
"mybot-images"). The token is the leading run of name characters of a full
User-Agent header, so ``MyBot/1.2 (+https://example.com/bot)`` is ``MyBot``.
A browser-style header names the crawler after ``compatible;``, as in the
RFC's own example ``Mozilla/5.0 (compatible; ExampleBot/0.1; https://...)``,
whose product token is ``ExampleBot``.
The RFC's token alphabet is letters, ``_`` and ``-``; real files also name
crawlers with digits (``360Spider``), so digits are accepted too, on both
sides of the comparison, which keeps it symmetric.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_COMPATIBLE = re.compile(r"[(;]\s*compatible\s*;\s*([A-Za-z0-9_-]+)", re.IGNORECASE)
_SPACES = " \t\x0b\x0c\xa0\udca0"


def _leading_token(value: str) -> str:
    found = _TOKEN.match(value.strip())
    return found.group() if found else ""


@lru_cache(maxsize=256)
def product_token(user_agent_header: str) -> str:
    """The product token of a User-Agent header (or a bare token).

    >>> product_token("MyBot/1.2 (+https://example.com/bot)")
    'MyBot'
    >>> product_token("Mozilla/5.0 (compatible; ExampleBot/0.1; https://www.example.com/bot.html)")
    'ExampleBot'

    A value with no leading name characters gives ``""``, which matches no group.
    """
    token = _leading_token(user_agent_header)
    if token.lower() == "mozilla":
        # RFC 9309 §2.2.1 example: "Mozilla/5.0 (compatible; ExampleBot/0.1; ...)".
        found = _COMPATIBLE.search(user_agent_header)
        if found:
            return found[1]
    return token


def agent_key(user_agent_value: str) -> str:
    """How a robots.txt ``User-agent`` value is indexed: ``"*"`` or a lower-case token.

    RFC 9309 §2.2.1 and Google's parser: ``*`` alone (or followed by a space
    and more text) is the global group; anything else is reduced to its
    leading token (``FooBot/1.0`` and ``FooBot Images`` are ``foobot``).
    """
    value = user_agent_value.strip()
    # A stray Latin-1 no-break space after "*" counts as a space. "*bot" or "*/1.0"
    # names no valid product token, so it matches nothing (as in Google's parser).
    if value[:1] == "*" and (len(value) == 1 or value[1] in _SPACES):
        return "*"
    return _leading_token(value).lower()
