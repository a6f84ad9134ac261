"""Who the crawler says it is: the User-Agent header and the robots.txt product token.

One pure function, shared by the crawl and by ``crawler-compliance check``, so
the CLI matches robots.txt for exactly the token a crawl of the same project
would use (they used to choose differently and could disagree on one URL).
"""

from __future__ import annotations

from typing import NamedTuple

from crawler_compliance.robots import product_token

__all__ = ["Identity", "crawl_identity"]


class Identity(NamedTuple):
    """``header``: the User-Agent header sent; ``sent_token``: its product token;
    ``robots_token``: the token robots.txt groups are matched for; ``warnings``:
    disagreements a person should fix, as sentences naming both sides."""

    header: str
    sent_token: str
    robots_token: str
    warnings: tuple[str, ...]


def crawl_identity(
    *,
    user_agent_header: str | None,
    compliance_user_agent: str | None,
    policy_token: str,
) -> Identity:
    """The identity of a crawl.

    ``user_agent_header`` is what Scrapy sends (the spider's ``user_agent``
    attribute, else ``USER_AGENT``); ``compliance_user_agent`` is
    ``COMPLIANCE_USER_AGENT`` (like Scrapy's ``ROBOTSTXT_USER_AGENT``: when set,
    robots.txt is matched for its token); ``policy_token`` is the policy's
    ``crawler.product_token``. With neither header nor setting, the policy's
    token is used for both, as ``TOKEN/1.0``.
    """
    header = user_agent_header or ""
    sent = product_token(header) if header else ""
    token = product_token(compliance_user_agent) if compliance_user_agent else sent
    if not token:
        token = policy_token
    warnings: list[str] = []
    if compliance_user_agent and sent and token.lower() != sent.lower():
        warnings.append(
            f"COMPLIANCE_USER_AGENT matches robots.txt for {token!r}, but the User-Agent "
            f"header sends the token {sent!r}: sites see {sent!r}"
        )
    if token.lower() != policy_token.lower():
        source = "COMPLIANCE_USER_AGENT" if compliance_user_agent else "the User-Agent header"
        warnings.append(
            f"robots.txt is matched for {token!r} (from {source}), but the policy's "
            f"crawler.product_token is {policy_token!r}. Make them agree (e.g. "
            f"USER_AGENT = '{policy_token}/1.0 (+https://your.site/bot)')."
        )
    return Identity(header or f"{token}/1.0", sent or token, token, tuple(warnings))
