"""route_of reads the Host and User-Agent a request will send exactly as the downloader does.

Scrapy's HTTP/1.1 handler builds Twisted's headers from ``request.headers``;
whatever it would send, route_of must see, however the headers were stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import Headers
from twisted.web.http_headers import Headers as TxHeaders
from twisted.web.http_headers import InvalidHeaderName

from crawler_compliance.scrapy._middleware import route_of


def sent(request: Request, name: bytes) -> tuple[str, ...]:
    try:
        headers = TxHeaders(request.headers)
    except InvalidHeaderName:  # Twisted refuses the request: nothing is sent
        return ()
    values = headers.getRawHeaders(name) or []
    return tuple(v.decode("latin-1") if isinstance(v, bytes) else v for v in values)


def raw(name: Any, value: Any, base: dict[str, str] | None = None) -> Request:
    request = Request("https://a.example/", headers=base)
    dict.__setitem__(request.headers, name, value)
    return request


def plain_dict(value: dict[Any, Any]) -> Request:
    request = Request("https://a.example/")
    request._headers = value  # type: ignore[assignment]
    return request


CASES = {
    "none": lambda: Request("https://a.example/"),
    "set": lambda: Request("https://a.example/", headers={"Host": "h", "User-Agent": "A/1"}),
    "others": lambda: Request("https://a.example/", headers={"Accept": "x", "Cookie": "c=1"}),
    "capitals": lambda: raw(b"HOST", [b"x"]),
    "both spellings": lambda: raw(b"host", [b"x"], {"Host": "h"}),
    "agent twice": lambda: raw(b"USER-AGENT", [b"B/1"], {"User-Agent": "A/1"}),
    "str name": lambda: raw("user-agent", "Evil/1", {"Accept": "y"}),
    "str value": lambda: raw(b"Host", "s.example", {"Accept": "y"}),
    "plain dict": lambda: plain_dict({"host": "d.example", b"User-Agent": [b"D/1"]}),
    "newline name": lambda: raw(b"a\nhost", [b"q"], {"Accept": "y"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_route_of_sees_what_the_downloader_sends(case: str) -> None:
    """Everything sent is decided; headers stored the usual way are read exactly. (Written
    into the dict past Headers' normalisation, a name may be decided though Scrapy's
    items() then sends it empty: deciding more than is sent only ever denies more.)"""
    request = CASES[case]()
    route = route_of(request)
    for name, decided in ((b"Host", route.host_headers), (b"User-Agent", route.user_agents)):
        assert set(sent(request, name)) <= set(decided), (case, name)
        if case in ("none", "set", "others"):
            assert decided == sent(request, name), (case, name)


def test_headers_set_after_the_first_look_are_seen() -> None:
    request = Request("https://a.example/")
    assert route_of(request).host_headers == ()
    request.headers["Host"] = "later.example"
    assert route_of(request).host_headers == ("later.example",)
    assert isinstance(request.headers, Headers)
