"""The guard's stamp table: holds no request alive, never answers for another request."""

from __future__ import annotations

import gc

from scrapy import Request

from crawler_compliance._route import Route
from crawler_compliance.scrapy._stamps import Stamp, Stamps


def test_a_stamp_answers_only_for_its_own_live_request() -> None:
    stamps = Stamps(sweep_at=8)
    kept = [Request(f"https://example.com/{n}") for n in range(4)]
    for request in kept:
        stamps[request] = Stamp(request.url, Route(), None)
    for n in range(100):  # requests that die right away: swept, the table stays small
        stamps[Request(f"https://example.com/gone/{n}")] = Stamp("x", Route(), None)
    gc.collect()
    assert all(stamps.get(r) == Stamp(r.url, Route(), None) for r in kept)
    assert len(stamps) <= 2 * 8 + len(kept)
    # An undecided request never gets a dead request's stamp, even at a reused id.
    assert all(stamps.get(Request(f"https://example.com/new/{n}")) is None for n in range(100))
