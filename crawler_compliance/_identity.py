"""Who the crawl says it is: the User-Agent it sends and the token robots.txt is matched for.

One function, used by the crawl and by ``crawler-compliance check``, so both
match robots.txt for the same product token and give the same verdict for the
same URL. Scrapy's own rule is the model: the header is the spider's
``user_agent`` attribute, else ``USER_AGENT``; robots.txt is matched for
``COMPLIANCE_USER_AGENT`` when set (as ``ROBOTSTXT_USER_AGENT`` does for
Scrapy), else for the header's product token.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler_compliance.robots import product_token

__all__ = ["Identity", "crawl_identity"]


@dataclass(frozen=True)
class Identity:
    """The crawl's identity and any disagreement worth a warning."""

    header: str  # the User-Agent header our own fetches send
    sent_token: str  # the product token of that header
    robots_token: str  # the token robots.txt groups are matched for
    warnings: tuple[str, ...] = ()


def crawl_identity(
    *,
    user_agent_header: str | None,
    compliance_user_agent: str | None,
    policy_token: str,
    header_source: str = "USER_AGENT",
) -> Identity:
    """Work out the identity from the settings, with warnings naming both sides.

    ``user_agent_header``: the header the crawl sends (spider attribute or
    ``USER_AGENT``; ``None`` for a CLI run outside a project, which then
    sends ``<policy token>/1.0``). ``compliance_user_agent``: the
    ``COMPLIANCE_USER_AGENT`` setting. ``policy_token``: the policy's
    ``crawler.product_token``.
    """
    header = user_agent_header or f"{policy_token}/1.0"
    sent = product_token(header) or policy_token
    robots = product_token(compliance_user_agent) if compliance_user_agent else sent
    warnings = []
    if compliance_user_agent and robots.lower() != sent.lower():
        warnings.append(
            f"COMPLIANCE_USER_AGENT matches robots.txt for {robots!r}, but {header_source} "
            f"sends the token {sent!r}: sites see {sent!r}"
        )
    if robots.lower() != policy_token.lower():
        source = "COMPLIANCE_USER_AGENT" if compliance_user_agent else header_source
        warnings.append(
            f"robots.txt is matched for {robots!r} (from {source}), but the policy's "
            f"crawler.product_token is {policy_token!r}. Make them agree (e.g. "
            f"USER_AGENT = '{policy_token}/1.0 (+https://your.site/bot)')."
        )
    return Identity(header, sent, robots, tuple(warnings))
