"""Product tokens: the name a crawler is known by in robots.txt.

RFC 9309 §2.2.1: a crawler matches a group by its *product token*, compared
case-insensitively and exactly ("mybot" does not match "bot" nor
"mybot-images"). The token is the leading run of name characters of a full
User-Agent header, so ``MyBot/1.2 (+https://example.com/bot)`` is ``MyBot``.
The RFC's token alphabet is letters, ``_`` and ``-``; real files also name
crawlers with digits (``360Spider``), so digits are accepted too, on both
sides of the comparison, which keeps it symmetric.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@lru_cache(maxsize=256)
def product_token(user_agent_header: str) -> str:
    """The product token of a User-Agent header or robots.txt user-agent value.

    >>> product_token("MyBot/1.2 (+https://example.com/bot)")
    'MyBot'

    A value with no leading name characters gives ``""``, which matches no group.
    """
    found = _TOKEN.match(user_agent_header.strip())
    return found.group() if found else ""


def agent_key(user_agent_value: str) -> str:
    """How a robots.txt ``User-agent`` value is indexed: ``"*"`` or a lower-case token.

    RFC 9309 §2.2.1 and Google's parser: ``*`` alone (or followed by something
    other than name characters) is the global group; anything else is reduced
    to its product token.
    """
    value = user_agent_value.strip()
    # "*" followed by a space, a comment remnant or a stray Latin-1 no-break space
    # is still the global group; "*bot" is not ("*" then name characters).
    if value[:1] == "*" and not _TOKEN.match(value, 1):
        return "*"
    return product_token(value).lower()
