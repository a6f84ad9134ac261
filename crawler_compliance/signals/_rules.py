"""One object that applies every opt-out to a URL for one crawl: before and after the fetch.

Built from a :class:`~crawler_compliance.ComplianceChecker` (purpose, product
token, site records); sans-I/O like the rest of the core: the adapter fetches
tdmrep.json and licences and hands in what it got, and hands each response
to :meth:`OptOuts.observe`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from crawler_compliance._decision import Check, Reason
from crawler_compliance._hosts import UnfetchableURL, canonicalize
from crawler_compliance._purpose import AI_PURPOSES, Purpose, parse_purpose
from crawler_compliance.robots import product_token as robots_product_token
from crawler_compliance.signals._aipref import parse_preferences, preference_findings
from crawler_compliance.signals._html import head_metas, is_html
from crawler_compliance.signals._reasons import Override, reasons_for
from crawler_compliance.signals._robots_tag import (
    directive_findings,
    header_directives,
    meta_directives,
)
from crawler_compliance.signals._rsl import RslLicence, link_licences
from crawler_compliance.signals._table import TDM_PURPOSES, Finding, Signal
from crawler_compliance.signals._tdmrep import TdmRepFile, page_findings

__all__ = ["OptOuts", "ResponseLike", "ResponseView"]


class ResponseLike(Protocol):
    """What :meth:`OptOuts.observe` reads of a response (any adapter's view will do)."""

    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def body_head(self) -> bytes: ...
    @property
    def content_type(self) -> str | None: ...


@dataclass(frozen=True)
class ResponseView:
    """What an adapter shows the observers of one response.

    ``headers`` maps lower-case names to every value received (repeated
    headers stay separate); ``body_head`` is at most the first 256 KiB, and
    only for HTML-ish content types (empty otherwise).
    """

    url: str
    status: int
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    body_head: bytes = b""
    content_type: str | None = None


MAX_LICENCES = 1024
MAX_HEADER_VALUES = 32  # repeated headers beyond this are noise (or an attack)
MAX_HEADER_CHARS = 8192  # per value; every parser below is linear, this bounds the rest


def _values(headers: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """The values of one header, bounded in number and length."""
    return [str(v)[:MAX_HEADER_CHARS] for v in list(headers.get(name, ()))[:MAX_HEADER_VALUES]]


def _charset(content_type: str | None) -> str:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


class OptOuts:
    """Every machine-readable opt-out, applied for one crawl purpose."""

    def __init__(
        self,
        *,
        purpose: Purpose | str | None,
        product_token: str,
        sites: Any = None,
        today: Callable[[], dt.date] = dt.date.today,
        robots_signals: bool = True,
    ) -> None:
        self.purpose = parse_purpose(purpose)
        # A full User-Agent header is reduced to its product token (RFC 9309 §2.2.1).
        self.token = robots_product_token(product_token) or product_token
        self.sites = sites
        self.today = today
        # policy robots.ai_training_opt_out: false turns robots.txt lines off for AI purposes
        self.robots_signals = robots_signals
        # Licences read so far, by URL (what Link headers on responses are checked against).
        self.licences: dict[str, RslLicence] = {}
        # Licences responses named in Link headers, by origin: read before the next page.
        self.linked: dict[tuple[str, str, int], list[str]] = {}
        # Bumped whenever ``linked`` changes: what the licences a URL needs depend on.
        self.links_version = 0

    def remember_licence(self, licence: RslLicence) -> None:
        """Keep a fetched licence for the responses that name it (bounded)."""
        if len(self.licences) >= MAX_LICENCES and licence.url not in self.licences:
            self.licences.pop(next(iter(self.licences)))
        self.licences[licence.url] = licence

    @classmethod
    def from_checker(cls, checker: Any) -> OptOuts:
        return cls(
            purpose=checker.purpose,
            product_token=checker.user_agent,
            sites=checker.sites,
            today=checker._today,
            robots_signals=checker.ai_opt_out,
        )

    # -- agreements ----------------------------------------------------------------

    def overrides_for(
        self, url: str, *, host: str | None = None, path: str | None = None
    ) -> list[Override]:
        """Overrides of the site permission covering *url* for this purpose, if any.

        ``host`` and ``path`` (a canonical URL's) save parsing *url* again.
        """
        if self.sites is None:
            return []
        if host is None or path is None:
            parts = urlsplit(url)
            host, path = (parts.hostname or "").lower(), parts.path or "/"
        if not self.sites.records_for(host):
            return []  # the common case: no site record, no agreement
        found = self.sites.permission_for(host, path, purpose=self.purpose, on=self.today())
        if found is None:
            return []
        record, permission = found
        return Override.from_policy(record, permission)

    def _reasons(
        self, url: str, findings: list[Finding], *, check: Check = Check.OPT_OUT, **kw: Any
    ) -> list[Reason]:
        if not findings:
            return []  # the common case: nothing said, no agreement to look up
        return reasons_for(
            findings, self.purpose, overrides=self.overrides_for(url), check=check, **kw
        )

    # -- before the fetch ----------------------------------------------------------

    def robots_reasons(self, url: str, robots_txt: Any, source: str) -> list[Reason]:
        """robots.txt ``Content-Signal`` / ``Content-Usage`` lines for *url* (check ``robots``)."""
        merged = robots_txt.content_signal_sources(self.token, url)
        if not merged:
            return []
        findings: list[Finding] = []
        for family, yes_no in ((Signal.CONTENT_SIGNAL, True), (Signal.CONTENT_USAGE, False)):
            prefs = {
                label: (value, line)
                for label, value, line in merged
                if (value in ("yes", "no")) is yes_no
            }
            if prefs:
                findings.extend(
                    preference_findings(prefs, where="robots.txt", source=source, family=family)
                )
        honoured: frozenset[Signal] | None = None
        if not self.robots_signals and self.purpose in AI_PURPOSES:
            honoured = frozenset()
        return self._reasons(url, findings, check=Check.ROBOTS, honoured=honoured)

    def needs_tdmrep(self, url: str, *, host: str | None = None, path: str | None = None) -> bool:
        """Whether tdmrep.json must be read to decide *url*: only a TDM purpose can be bound
        by it, and not when the site's agreement overrides TDMRep ("only read what is needed")."""
        if self.purpose not in TDM_PURPOSES:
            return False
        overrides = self.overrides_for(url, host=host, path=path)
        return not any(o.signal is Signal.TDMREP for o in overrides)

    def licences_needed(
        self,
        url: str,
        licence_urls: Sequence[str],
        *,
        host: str | None = None,
        path: str | None = None,
    ) -> list[str]:
        """The licences that must be read to decide *url* (those no agreement names)."""
        if not licence_urls:
            return []
        overrides = self.overrides_for(url, host=host, path=path)
        lifted = {o.licence for o in overrides if o.signal is Signal.RSL}
        return [u for u in licence_urls if u not in lifted]

    @staticmethod
    def licence_urls(robots_txt: Any, robots_url: str) -> list[str]:
        """RSL licence URLs from robots.txt ``License:`` lines, made absolute."""
        urls = []
        for _line, value in robots_txt.licences:
            absolute = urljoin(robots_url, value)
            if absolute.startswith(("http://", "https://")) and absolute not in urls:
                urls.append(absolute)
        return urls[:8]

    def tdmrep_reasons(self, url: str, tdmrep: TdmRepFile) -> list[Reason]:
        """``/.well-known/tdmrep.json`` for *url* (see the failure rules in ``_tdmrep``)."""
        return self._reasons(url, tdmrep.findings(url))

    def licence_reasons(self, url: str, licences: Sequence[RslLicence]) -> list[Reason]:
        """RSL licences that apply to the site, for *url*."""
        findings: list[Finding] = []
        for licence in licences:
            findings.extend(licence.findings(url))
        return self._reasons(url, findings)

    # -- after the fetch -----------------------------------------------------------

    def response_findings(
        self, view: ResponseLike, licences: Mapping[str, RslLicence] | None = None
    ) -> list[Finding]:
        headers = {
            name: _values(view.headers, name)
            for name in ("x-robots-tag", "tdm-reservation", "tdm-policy", "content-usage", "link")
        }
        findings: list[Finding] = []
        pairs = [
            (directive, f"X-Robots-Tag header{f' for {scope}' if scope else ''}")
            for directive, scope in header_directives(headers["x-robots-tag"], self.token)
        ]
        metas: list[tuple[str, str]] = []
        if view.body_head and is_html(view.content_type, view.body_head):
            metas = head_metas(view.body_head, encoding=_charset(view.content_type))
            pairs.extend(
                (directive, f'<meta name="{name}">')
                for directive, name in meta_directives(metas, self.token)
            )
        findings.extend(directive_findings(pairs, source=view.url))
        findings.extend(page_findings(headers, metas, source=view.url))
        usage = ", ".join(headers["content-usage"])
        if usage.strip():
            prefs = {k: (v, None) for k, v in parse_preferences(usage).items()}
            findings.extend(
                preference_findings(
                    prefs,
                    where="Content-Usage header",
                    source=view.url,
                    family=Signal.CONTENT_USAGE,
                )
            )
        for licence_url in link_licences(headers["link"], view.url):
            known = (self.licences if licences is None else licences).get(licence_url)
            if known is not None:
                findings.extend(known.findings(view.url))
            else:
                self._remember_link(view.url, licence_url)
                findings.append(
                    Finding(
                        Signal.RSL,
                        "licence not read yet",
                        'Link rel="license" header',
                        AI_PURPOSES,
                        source=view.url,
                        licence=licence_url,
                        detail=f"licence {licence_url} must be read before its content is used",
                    )
                )
        return findings

    def observe(
        self, view: ResponseLike, *, licences: Mapping[str, RslLicence] | None = None
    ) -> list[Reason]:
        """Reasons from one fetched response: a DENY drops it ("fetched and discarded")."""
        return self._reasons(view.url, self.response_findings(view, licences), fetched=True)

    def _remember_link(self, page_url: str, licence_url: str) -> None:
        origin = _origin(page_url)
        if origin is None:
            return
        urls = self.linked.get(origin)
        if urls is None:
            if len(self.linked) >= MAX_LICENCES:
                self.linked.pop(next(iter(self.linked)))
            urls = self.linked[origin] = []
            self.links_version += 1
        if licence_url not in urls and len(urls) < 8:
            urls.append(licence_url)
            self.links_version += 1

    def linked_licences(self, url: str) -> list[str]:
        """Licences earlier responses of *url*'s origin named in ``Link`` headers.

        By canonical origin, so every spelling of it (``:443``, a user name, a
        root dot) gets them: how a URL is written must not skip a licence.
        """
        origin = _origin(url)
        return list(self.linked.get(origin, ())) if origin is not None else []

    def link_licence_urls(self, view: ResponseLike) -> list[str]:
        """Licence URLs a response names in ``Link`` headers (for the adapter to fetch)."""
        return link_licences(_values(view.headers, "link"), view.url)


def _origin(url: str) -> tuple[str, str, int] | None:
    """The canonical ``(scheme, host, port)`` of *url* (``None``: not fetchable)."""
    try:
        return canonicalize(url).origin
    except UnfetchableURL:
        return None
