"""What was decided for each request, kept beside it for the guard (never in its meta)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, NamedTuple

from crawler_compliance._route import Route

if TYPE_CHECKING:
    from scrapy import Request

__all__ = ["Stamp", "Stamps"]

_ref = weakref.ref
_new_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function


class Stamp(NamedTuple):
    """What was decided for a request, kept beside it (never in its meta)."""

    url: str
    route: Route
    slot: str | None


class Stamps:
    """The stamp of each decided request, by request, holding no request alive.

    Like a ``weakref.WeakKeyDictionary`` (which a spider cannot reach, unlike
    the request's meta or attributes), but without a callback per entry:
    dead entries are swept when the table doubles, so it stays as large as
    the requests still alive, and an entry whose request died never answers
    for a new request that got the same ``id``.
    """

    __slots__ = ("_entries", "_sweep_at")

    def __init__(self, sweep_at: int = 4096) -> None:
        self._entries: dict[int, tuple[weakref.ref[Request], Stamp]] = {}
        self._sweep_at = sweep_at

    def __setitem__(self, request: Request, stamp: Stamp) -> None:
        self.put(request, *stamp)

    def put(self, request: Request, url: str, route: Route, slot: str | None) -> None:
        """Stamp *request* (``self[request] = Stamp(url, route, slot)``, one call)."""
        entries = self._entries
        entries[id(request)] = (_ref(request), _new_tuple(Stamp, (url, route, slot)))
        if len(entries) > self._sweep_at:
            self._entries = {key: e for key, e in entries.items() if e[0]() is not None}
            self._sweep_at = max(self._sweep_at, 2 * len(self._entries))

    def get(self, request: Request) -> Stamp | None:
        entry = self._entries.get(id(request))
        if entry is None or entry[0]() is not request:
            return None
        return entry[1]

    def __len__(self) -> int:
        return len(self._entries)
