"""Notice status and dates, IP literals, and the offline public suffix list."""

from __future__ import annotations

import datetime
import time

import pytest
import requests.adapters

from crawler_compliance._domains import make_extractor
from crawler_compliance._registry import Registry
from crawler_compliance.policy import Notice


def _notice(**fields) -> Notice:
    data = {
        "id": "acme-2020-01",
        "issuer": {"name": "Acme"},
        "received": "2020-01-10",
        "status": "active",
        "scopes": [
            {
                "label": "Acme",
                "kind": "named-service",
                "domains": ["acme.example"],
                "brands": ["acme"],
                "addresses": ["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"],
            }
        ],
    }
    data.update(fields)
    return Notice.model_validate(data)


def _active(notice: Notice, on: datetime.date) -> list[bool]:
    return [hit.active for hit in Registry([notice]).match("www.acme.example", on=on)]


D = datetime.date


@pytest.mark.parametrize(
    ("fields", "on", "active"),
    [
        ({}, D(2020, 1, 10), True),  # effective from the received date
        ({}, D(2020, 1, 9), False),
        ({"effective": "2020-02-01"}, D(2020, 1, 31), False),  # not yet effective
        ({"effective": "2020-02-01"}, D(2020, 2, 1), True),
        ({"expires": "2021-01-10"}, D(2021, 1, 10), True),  # the expiry day is included
        ({"expires": "2021-01-10"}, D(2021, 1, 11), False),  # expired
        ({"status": "withdrawn"}, D(2022, 1, 1), False),
        ({"status": "superseded", "superseded_by": "acme-2021-01"}, D(2022, 1, 1), False),
    ],
)
def test_only_active_effective_unexpired_notices_deny(fields, on, active):
    assert _active(_notice(**fields), on) == [active]


def test_inactive_notice_is_still_reported_with_its_status():
    (hit,) = Registry([_notice(status="withdrawn")]).match("acme.example", on=D(2022, 1, 1))
    assert (hit.notice_id, hit.status, hit.active, hit.source, hit.line) == (
        "acme-2020-01",
        "withdrawn",
        False,
        "<python>",
        0,
    )


def test_default_day_is_today():
    future = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=2)
    registry = Registry([_notice(effective=future.isoformat())])
    assert [h.active for h in registry.match("acme.example")] == [False]
    assert [h.active for h in registry.match("acme.example", on=future)] == [True]


@pytest.mark.parametrize(
    ("host", "matched"),
    [
        ("192.0.2.1", "192.0.2.0/24"),
        ("192.0.2.255", "192.0.2.0/24"),
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8::1", "2001:db8::/32"),
        ("[2001:db8:ffff::1]", "2001:db8::/32"),
        ("::ffff:192.0.2.9", "192.0.2.0/24"),  # IPv4-mapped IPv6
        ("::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_ip_literals_match_listed_addresses(host, matched):
    hits = Registry([_notice()]).match(host, is_ip=True, on=D(2022, 1, 1))
    assert [h.matched for h in hits] == [matched]


@pytest.mark.parametrize(
    "host", ["198.51.100.8", "192.0.3.1", "203.0.113.1", "2001:db9::1", "::1", "127.0.0.1"]
)
def test_ip_literals_outside_listed_addresses(host):
    assert Registry([_notice()]).match(host, is_ip=True, on=D(2022, 1, 1)) == []


def test_ip_literal_is_recognised_even_if_not_flagged():
    hits = Registry([_notice()]).match("192.0.2.1", on=D(2022, 1, 1))
    assert [h.matched for h in hits] == ["192.0.2.0/24"]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any HTTP(S) request fails the test; tldextract's cache may only go to tmp_path."""

    def refuse(*args, **kwargs):
        raise AssertionError("the public suffix list must not be downloaded")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_bundled_suffix_list_needs_no_network_and_writes_nothing(no_network):
    extract = make_extractor()
    assert extract("www.google.com.au").suffix == "com.au"
    assert list(no_network.iterdir()) == []


def test_a_local_suffix_list_file_replaces_the_snapshot(no_network):
    psl = no_network / "psl.dat"
    psl.write_text(
        "// ===BEGIN ICANN DOMAINS===\ncom\nevil.example\n// ===END ICANN DOMAINS===\n",
        encoding="utf-8",
    )
    notice = _notice()
    custom = Registry([notice], suffix_list_file=str(psl))
    assert [h.matched for h in custom.match("acme.evil.example", on=D(2022, 1, 1))] == ["acme"]
    assert Registry([notice]).match("acme.evil.example", on=D(2022, 1, 1)) == []
    # co.uk is not in the custom list: acme.co.uk's registrable domain is co.uk there.
    assert custom.match("acme.co.uk", on=D(2022, 1, 1)) == []
    assert [p.name for p in no_network.iterdir()] == ["psl.dat"]


def test_missing_suffix_list_file_fails_at_start_up(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Registry([], suffix_list_file=str(tmp_path / "missing.dat"))


def test_empty_registry_matches_nothing():
    assert Registry([]).match("www.google.com") == []


def test_repeated_lookups_are_cached():
    registry = Registry([_notice()])
    for _ in range(3):
        registry.match("www.acme.example", on=D(2022, 1, 1))
    info = registry._candidates.cache_info()
    assert (info.hits, info.misses) == (2, 1)


def test_guard_many_distinct_hosts_stay_fast():
    # A generous guard, not a benchmark: 20 000 uncached lookups in well under 10 s.
    registry = Registry([_notice()])
    started = time.monotonic()
    for n in range(20_000):
        registry.match(f"h{n}.sub.example.co.uk", on=D(2022, 1, 1))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("host", "is_ip", "registrable"),
    [
        ("www.google.co.uk", False, "google.co.uk"),
        ("WWW.Example.COM.", False, "example.com"),
        ("someone.github.io", False, "github.io"),  # ICANN suffixes only, like brands
        ("localhost", False, None),
        ("intranet.example", False, None),
        ("192.0.2.1", True, None),
        ("192.0.2.1", False, None),
        ("[2001:db8::1]", True, None),
    ],
)
def test_registrable_domain(host, is_ip, registrable):
    assert Registry([]).registrable_domain(host, is_ip=is_ip) == registrable


def test_a_cut_off_suffix_list_is_refused_not_used(tmp_path):
    # Truncated mid-list, brand matching would silently shrink: fail at start-up.
    psl = tmp_path / "psl.dat"
    psl.write_text("// ===BEGIN ICANN DOMAINS===\ncom\nco.uk\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is incomplete"):
        Registry([], suffix_list_file=str(psl))
