"""The per-site files opt-outs need: which to fetch for a URL, their cache, their reasons.

Sans-I/O, like the robots.txt cache: :meth:`SignalFiles.needs` says which
``/.well-known/tdmrep.json`` and RSL licences a URL still needs (given its
robots.txt, which names the licences), the adapter fetches each through its
own-fetch path (registry-checked, audited, redirects decided, capped) and
hands the outcome to :meth:`SignalFiles.supply`, and :meth:`SignalFiles.reasons`
applies them. A file that is needed and was not supplied (the fetch was never
made) is unreadable: fail closed for the purposes it could bind.

Cache keys carry the route (proxy, ``Host``), as robots.txt's do; entries live
for :data:`TTL` seconds (24 hours, robots.txt's maximum), at most
:data:`MAX_ENTRIES` of them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crawler_compliance._decision import Reason
from crawler_compliance._sitefiles import FetchedFile, FileNeed, SiteFile
from crawler_compliance.signals._rsl import MAX_BYTES as LICENCE_MAX_BYTES
from crawler_compliance.signals._rsl import RslLicence, licence_from_fetch, licence_from_fetched
from crawler_compliance.signals._rules import OptOuts
from crawler_compliance.signals._tdmrep import MAX_BYTES as TDMREP_MAX_BYTES
from crawler_compliance.signals._tdmrep import (
    TdmRepFile,
    TdmState,
    tdmrep_from_fetch,
    tdmrep_from_fetched,
    tdmrep_url,
)

if TYPE_CHECKING:
    from crawler_compliance._hosts import CanonicalURL
    from crawler_compliance.robots import RobotsResult

__all__ = ["MAX_ENTRIES", "TTL", "SignalFiles"]

TTL = 86400.0
MAX_ENTRIES = 10_000


class SignalFiles:
    """tdmrep.json and licence documents for one crawl: needs, cache, reasons."""

    def __init__(self, opt_outs: OptOuts, *, clock: Callable[[], float] = time.time) -> None:
        self.opt_outs = opt_outs
        self.clock = clock
        self._cache: OrderedDict[tuple[object, ...], tuple[float, Any]] = OrderedDict()
        self._need_memo: dict[tuple[object, ...], FileNeed] = {}

    # -- cache ---------------------------------------------------------------------

    def _get(self, key: tuple[object, ...]) -> Any:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self.clock() >= expires:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return value

    def _put(self, key: tuple[object, ...], value: Any) -> None:
        self._cache[key] = (self.clock() + TTL, value)
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_ENTRIES:
            self._cache.popitem(last=False)

    def __len__(self) -> int:
        return len(self._cache)

    # -- what a URL needs ----------------------------------------------------------

    @staticmethod
    def _route_key(
        canonical: CanonicalURL, proxy: str | None, host_header: str | None
    ) -> tuple[object, ...]:
        return (*canonical.origin, proxy, host_header.strip().lower() if host_header else None)

    def _tdmrep_need(
        self, canonical: CanonicalURL, proxy: str | None, host_header: str | None
    ) -> FileNeed:
        key = (SiteFile.TDMREP.value, *self._route_key(canonical, proxy, host_header))
        need = self._need_memo.get(key)
        if need is None:
            if len(self._need_memo) >= MAX_ENTRIES:
                self._need_memo.clear()
            need = self._need_memo[key] = FileNeed(
                SiteFile.TDMREP, tdmrep_url(canonical.url), key, TDMREP_MAX_BYTES + 1, host_header
            )
        return need

    def _licence_needs(
        self, canonical: CanonicalURL, robots: RobotsResult | None, proxy: str | None
    ) -> list[FileNeed]:
        parsed = getattr(robots, "robots", None)
        linked = self.opt_outs.linked_licences(canonical.url) if self.opt_outs.linked else []
        if (parsed is None or not parsed.licences) and not linked:
            return []
        declared = self.opt_outs.licence_urls(parsed, canonical.robots_url) if parsed else []
        # Licences the site's responses named in Link headers count from then on; they
        # are "linked", not declared: one that turns out not to be RSL is ignored.
        urls = declared + [url for url in linked if url not in declared]
        urls = self.opt_outs.licences_needed(
            canonical.url, urls, host=canonical.host, path=canonical.path
        )
        return [
            FileNeed(
                SiteFile.LICENSE,
                url,
                (SiteFile.LICENSE.value, url, proxy, url in declared),
                LICENCE_MAX_BYTES + 1,
            )
            for url in urls
        ]

    def all_needs(
        self,
        canonical: CanonicalURL,
        robots: RobotsResult | None,
        *,
        proxy: str | None = None,
        host_header: str | None = None,
    ) -> list[FileNeed]:
        """Every file deciding *canonical* takes (cached or not)."""
        needs = []
        if self.opt_outs.needs_tdmrep(canonical.url, host=canonical.host, path=canonical.path):
            needs.append(self._tdmrep_need(canonical, proxy, host_header))
        needs.extend(self._licence_needs(canonical, robots, proxy))
        return needs

    def needs(
        self,
        canonical: CanonicalURL,
        robots: RobotsResult | None,
        *,
        proxy: str | None = None,
        host_header: str | None = None,
        needs: list[FileNeed] | None = None,
    ) -> list[FileNeed]:
        """The files still to fetch for *canonical* (not in the cache); ``needs`` as
        :meth:`all_needs` gave them, when already known."""
        if needs is None:
            needs = self.all_needs(canonical, robots, proxy=proxy, host_header=host_header)
        return [need for need in needs if self._get(need.key) is None]

    # -- fetched files -------------------------------------------------------------

    def supply(self, need: FileNeed, fetched: FetchedFile) -> TdmRepFile | RslLicence:
        """Parse and cache what the fetch of *need* gave; returns the parsed file."""
        parsed: TdmRepFile | RslLicence
        if need.kind is SiteFile.TDMREP:
            parsed = tdmrep_from_fetched(fetched)
        elif need.kind is SiteFile.LICENSE:
            parsed = licence_from_fetched(fetched, declared=bool(need.key[-1]))
            self.opt_outs.remember_licence(parsed)
        else:
            raise ValueError(f"not an opt-out file: {need.kind}")
        self._put(need.key, parsed)
        return parsed

    def reasons(
        self,
        canonical: CanonicalURL,
        robots: RobotsResult | None,
        *,
        proxy: str | None = None,
        host_header: str | None = None,
        needs: list[FileNeed] | None = None,
    ) -> list[Reason]:
        """TDMRep and RSL reasons for *canonical*; a needed file never supplied is unreadable.

        ``needs``: what :meth:`all_needs` gave for this URL, when already known.
        """
        if needs is None:
            needs = self.all_needs(canonical, robots, proxy=proxy, host_header=host_header)
        found = self.cached_reasons(canonical, needs, missing_unreadable=True)
        assert found is not None  # a missing file is read as unreadable, never None
        return found

    def cached_reasons(
        self, canonical: CanonicalURL, needs: list[FileNeed], *, missing_unreadable: bool = False
    ) -> list[Reason] | None:
        """:meth:`reasons` when every file of *needs* is cached, else ``None``.

        With ``missing_unreadable``, a file not in the cache is read as
        unreadable instead (what :meth:`reasons` does), and never ``None``.
        """
        reasons: list[Reason] = []
        licences: list[RslLicence] = []
        for need in needs:
            found = self._get(need.key)
            if need.kind is SiteFile.TDMREP:
                tdm = found if isinstance(found, TdmRepFile) else None
                if tdm is None:
                    if not missing_unreadable:
                        return None
                    tdm = tdmrep_from_fetch(need.url, status=None, error="not fetched")
                if tdm.state is not TdmState.ABSENT:  # no file says nothing (no findings)
                    reasons.extend(self.opt_outs.tdmrep_reasons(canonical.url, tdm))
            else:
                licence = found if isinstance(found, RslLicence) else None
                if licence is None:
                    if not missing_unreadable:
                        return None
                    licence = licence_from_fetch(need.url, status=None, error="not fetched")
                licences.append(licence)
        if licences:
            reasons.extend(self.opt_outs.licence_reasons(canonical.url, licences))
        return reasons
