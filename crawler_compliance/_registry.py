"""The cease-and-desist registry: which notices cover a host.

Matching rules (all on lower-case ASCII hosts, as Scrapy's downloader sends them):

- A **domain** entry covers itself and every host under it, on label
  boundaries: ``google.com`` covers ``www.google.com`` but not
  ``notgoogle.com`` nor ``google.com.evil.example``.
- A **brand** entry (``google``) covers every host whose registrable domain is
  the brand label directly under a public suffix of the ICANN section of the
  public suffix list: ``google.co.uk``, ``www.google.com.au``, ``google.de``.
  Suffixes from the list's *private* section (``blogspot.com``, ``github.io``,
  ``herokuapp.com``) do not count: anyone can register ``google.github.io`` there,
  and it is not the brand owner's. (A private-suffix host the issuer does own,
  such as ``blogspot.com``, is listed as a domain.) Brands are matched by label,
  so a look-alike in another script (``xn--ggle-0nda...``) does not match.
- An **IP-literal** host matches only ``addresses`` entries (the address or a
  network containing it; an IPv4-mapped IPv6 address is also matched as IPv4).
  Domains and brands never match an IP literal.

Lookups are on the per-request hot path: domain entries sit in one dict walked
by the host's label suffixes, the brand check runs tldextract once per host, and
the per-host candidates are kept in an LRU cache. The public suffix list is
tldextract's bundled snapshot (or a local file); nothing is downloaded.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler_compliance._domains import default_extractor, make_extractor, to_ascii
from crawler_compliance._hosts import host_suffixes

if TYPE_CHECKING:
    from crawler_compliance.policy import Notice, Policy

__all__ = ["Registry", "RegistryHit"]

_CACHE_SIZE = 65536

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class RegistryHit:
    """A notice scope that covers a host.

    ``matched`` is the entry that matched: a domain (``youtube.com``), a brand
    (``google``) or an address/network (``192.0.2.0/24``). ``source`` and ``line``
    point at that entry in the notice file. ``active`` is true only when the
    notice's status is ``active``, its effective date has come and its expiry
    date (inclusive) has not passed; inactive hits are reported for the record
    but deny nothing.
    """

    notice_id: str
    issuer: str
    scope_label: str
    matched: str
    status: str
    source: str
    line: int
    active: bool


@dataclass(frozen=True)
class _Entry:
    notice: Notice
    scope_index: int
    scope_label: str
    matched: str
    line: int


def _entries(notices: Iterable[Notice]) -> Iterator[tuple[str, str, _Entry]]:
    for notice in notices:
        for s_index, scope in enumerate(notice.scopes):
            for kind, values in (
                ("domains", scope.domains),
                ("brands", scope.brands),
                ("addresses", scope.addresses),
            ):
                for v_index, value in enumerate(values):
                    line = notice.line_of("scopes", s_index, kind, v_index)
                    yield kind, value, _Entry(notice, s_index, scope.label, value, line)


class Registry:
    """Cease-and-desist notices indexed for host lookups.

    ``suffix_list_file`` names a local public suffix list file (the format of
    publicsuffix.org's ``public_suffix_list.dat``) to use instead of the snapshot
    bundled with tldextract; it is read once, here, and an unreadable file raises
    ``ValueError``.
    """

    def __init__(self, notices: Iterable[Notice], *, suffix_list_file: str | None = None) -> None:
        self.notices = tuple(notices)
        self._extract = (
            default_extractor() if suffix_list_file is None else make_extractor(suffix_list_file)
        )
        self._domains: dict[str, list[_Entry]] = {}
        self._brands: dict[str, list[_Entry]] = {}
        self._networks: list[tuple[IPNetwork, _Entry]] = []
        for kind, value, entry in _entries(self.notices):
            if kind == "domains":
                self._domains.setdefault(value, []).append(entry)
            elif kind == "brands":
                self._brands.setdefault(value, []).append(entry)
            else:
                self._networks.append((ipaddress.ip_network(value), entry))
        self._order = {id(notice): index for index, notice in enumerate(self.notices)}
        self._candidates = functools.lru_cache(maxsize=_CACHE_SIZE)(self._lookup)
        self._split = functools.lru_cache(maxsize=_CACHE_SIZE)(self._split_host)

    @classmethod
    def from_policy(cls, policy: Policy, suffix_list_file: str | None = None) -> Registry:
        """A registry of every notice in a loaded policy (active or not)."""
        return cls(policy.notices, suffix_list_file=suffix_list_file)

    def match(
        self, host: str, *, is_ip: bool = False, on: datetime.date | None = None
    ) -> list[RegistryHit]:
        """Every notice scope covering ``host``, one hit per scope.

        ``host`` is expected in canonical form (``crawler_compliance._hosts``):
        lower-case ASCII, no trailing dot; case and one trailing dot are
        forgiven here. ``on`` is the day to judge ``active`` for (default: today
        in UTC). Hits come in notice order (path-sorted files), then scope order.
        Within a scope, the most specific entry is reported: the longest
        matching domain, else the brand.
        """
        if on is None:
            on = datetime.datetime.now(datetime.timezone.utc).date()
        return [
            RegistryHit(
                notice_id=entry.notice.id,
                issuer=entry.notice.issuer.name,
                scope_label=entry.scope_label,
                matched=entry.matched,
                status=entry.notice.status,
                source=entry.notice.source.path,
                line=entry.line,
                active=entry.notice.is_active(on),
            )
            for entry in self._candidates(_normalise(host), is_ip)
        ]

    def _lookup(self, host: str, is_ip: bool) -> tuple[_Entry, ...]:
        address = _as_ip(host) if (is_ip or _maybe_ip(host)) else None
        # A host said to be an IP literal that does not parse as one is matched as a
        # name: erring toward a match is the safe side of a caller's mistake.
        found = self._match_address(address) if address is not None else self._match_name(host)
        # One hit per (notice, scope), keeping the first (most specific) entry.
        best: dict[tuple[int, int], _Entry] = {}
        for entry in found:
            best.setdefault((id(entry.notice), entry.scope_index), entry)
        return tuple(
            sorted(best.values(), key=lambda e: (self._order[id(e.notice)], e.scope_index))
        )

    def _match_name(self, host: str) -> list[_Entry]:
        found: list[_Entry] = []
        if not host:
            return found
        for suffix in host_suffixes(host):
            entries = self._domains.get(suffix)
            if entries:
                found.extend(entries)
        if self._brands:
            label, suffix = self._split(host)
            # ICANN suffixes only (tldextract's default); no suffix means no brand.
            if suffix and label in self._brands:
                found.extend(self._brands[label])
        return found

    def _split_host(self, host: str) -> tuple[str, str]:
        parts = self._extract(host)
        return parts.domain, parts.suffix

    def registrable_domain(self, host: str, *, is_ip: bool = False) -> str | None:
        """The registrable domain of ``host`` (``www.google.co.uk`` -> ``google.co.uk``).

        Judged against the ICANN section of the public suffix list, like brands:
        ``someone.github.io`` -> ``github.io``. ``None`` for IP literals and for
        hosts without a known public suffix (``localhost``, ``intranet.example``).
        """
        host = _normalise(host)
        if is_ip or (_maybe_ip(host) and _as_ip(host) is not None):
            return None
        label, suffix = self._split(host)
        return f"{label}.{suffix}" if label and suffix else None

    def _match_address(
        self, address: ipaddress.IPv4Address | ipaddress.IPv6Address
    ) -> list[_Entry]:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        # Most specific network first.
        matches = [
            (network, entry)
            for network, entry in self._networks
            for candidate in candidates
            if candidate.version == network.version and candidate in network
        ]
        matches.sort(key=lambda pair: -pair[0].prefixlen)
        return [entry for _, entry in matches]


def _normalise(host: str) -> str:
    host = host[:-1] if host.endswith(".") else host
    try:
        return to_ascii(host)
    except UnicodeError:
        return host.lower()  # not encodable: cannot equal any (encoded) policy entry


def _maybe_ip(host: str) -> bool:
    return bool(host) and (host[0] in "[:" or host[-1].isdigit())


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
