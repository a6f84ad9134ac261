"""Canonical hosts: what the downloader connects to, and what we refuse to guess."""

from __future__ import annotations

import contextlib

import pytest

from crawler_compliance._hosts import AmbiguousURL, UnfetchableURL, canonicalize


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://WWW.YouTube.COM./x", "www.youtube.com", 80),
        ("https://www.youtube.com/watch?v=1", "www.youtube.com", 443),
        ("http://%77ww.youtube.com/", "www.youtube.com", 80),
        ("http://ｙｏｕｔｕｂｅ.com/", "youtube.com", 80),  # full-width, NFKC
        ("http://google。com/", "google.com", 80),  # ideographic full stop
        ("http://user:pw@youtube.com:80/", "youtube.com", 80),
        ("http://bücher.de/", "xn--bcher-kva.de", 80),
        ("http://XN--BCHER-KVA.de/", "xn--bcher-kva.de", 80),
        ("  http://example.org/  ", "example.org", 80),
        ("http://example.org:8080/", "example.org", 8080),
        ("http://example.org:/", "example.org", 80),
        ("http://[::1]:8080/", "::1", 8080),
        ("http://[::ffff:1.2.3.4]/", "1.2.3.4", 80),
        ("http://2130706433/", "127.0.0.1", 80),
        ("http://0x7f.1/", "127.0.0.1", 80),
        ("http://0177.0.0.1/", "127.0.0.1", 80),
        ("http://google.com%2Eevil.example/", "google.com.evil.example", 80),
        ("HTTP://Example.ORG", "example.org", 80),
    ],
)
def test_canonical_host(url: str, host: str, port: int) -> None:
    canonical = canonicalize(url)
    assert (canonical.host, canonical.port) == (host, port)


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example\\@google.com/",
        "http://a@b@google.com/",
        "http://google.com:80x/",
        "http://google.com:65536/",
        "http://google.com:0/",
        "http://goo\tgle.com/",
        "http://goo\ngle.com/",
        "http://google.com\x00.evil/",
        "http://google.com%00.evil.example/",
        "http://exa mple.com/",
        "http://google..com/",
        "http://google.com../",
        "http://1.2.3.4.5/",
        "http://999.1.1.1/",
        "http://08.1.1.1/",
        "http://[fe80::1%25eth0]/",
        "http://[not-ipv6]/",
        "http://%ff%fe.example/",
        "http://www.-bad.com/",
    ],
)
def test_ambiguous_hosts_are_refused(url: str) -> None:
    with pytest.raises(AmbiguousURL):
        canonicalize(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://example.org/",
        "file:///etc/passwd",
        "data:,x",
        "http:///x",
        "http:example.org",
        "javascript:alert(1)",
        "//example.org/",
    ],
)
def test_unfetchable_urls_are_refused(url: str) -> None:
    with pytest.raises(UnfetchableURL):
        canonicalize(url)


def test_origin_and_robots_url() -> None:
    canonical = canonicalize("https://User@Example.ORG:443/a/b?q#f")
    assert canonical.origin == ("https", "example.org", 443)
    assert canonical.robots_url == "https://example.org/robots.txt"
    assert canonicalize("http://[::1]:81/").robots_url == "http://[::1]:81/robots.txt"


def test_any_string_gets_an_answer() -> None:
    for junk in ["http://\udcff/", "http://" + "a" * 10_000 + ".com/", "\x00", "http://[", "%"]:
        with contextlib.suppress(UnfetchableURL):
            canonicalize(junk)


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("/", "/"),
        ("/a/b", "/a/b"),
        ("/public/../private/x", "/private/x"),
        ("/public/%2e%2E/private/x", "/private/x"),
        ("//private/x", "/private/x"),
        ("/a/./b", "/a/b"),
        ("/a/b/..", "/a/"),
        ("/../..//x", "/x"),
        ("/a//b//", "/a/b/"),
        ("/v1.2/file.html", "/v1.2/file.html"),
    ],
)
def test_resolved_path(path: str, resolved: str) -> None:
    from crawler_compliance._hosts import resolved_path

    assert resolved_path(path) == resolved


def test_the_direct_split_is_urlsplits() -> None:
    """canonicalize splits http(s) URLs itself: the same scheme, netloc and path as urlsplit."""
    import random
    from urllib.parse import urlsplit

    from crawler_compliance._hosts import _split

    rng = random.Random(9309)
    alphabet = "ab/?#:@[]%.\\;=&-_é𝔘 " + "0123456789"
    prefixes = ["http://", "https://", "HTTP://", "http:/", "https:", "", "http:///", "//"]
    for _ in range(20000):
        tail = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        url = rng.choice(prefixes) + tail
        try:
            parts = urlsplit(url)
        except ValueError:
            if not url.startswith(("http://", "https://")):
                with pytest.raises(ValueError):
                    _split(url)  # the same urlsplit
                continue
            # urlsplit refuses some netlocs; canonicalize checks the netloc the same
            # way in _canonical_authority, so the split itself only has to agree.
            scheme, netloc, _ = _split(url)
            with pytest.raises(ValueError):
                urlsplit(f"{scheme}://{netloc}/")
            continue
        assert _split(url) == (parts.scheme.lower(), parts.netloc, parts.path), url


def test_canonicalize_builds_the_same_object_as_the_dataclass() -> None:
    import dataclasses

    from crawler_compliance._hosts import CanonicalURL

    made = canonicalize("https://WWW.Example.COM:8443/a/b?q=1#f", scrapy_safe=True)
    assert made == CanonicalURL(
        url="https://WWW.Example.COM:8443/a/b?q=1#f",
        scheme="https",
        host="www.example.com",
        port=8443,
        is_ip=False,
        path="/a/b",
    )
    assert made.origin == ("https", "www.example.com", 8443)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.host = "other.example"  # type: ignore[misc]


@pytest.mark.parametrize("code", [*range(0x00, 0x20), *range(0x7F, 0xA0)])
@pytest.mark.parametrize("scrapy_safe", [True, False])
def test_a_control_character_inside_a_url_is_refused(code: int, scrapy_safe: bool) -> None:
    char = chr(code)
    for url in (
        f"https://a.example/p{char}q",
        f"https://a{char}b.example/",
        f"https://a.example/?q={char}x",
    ):
        with pytest.raises(AmbiguousURL):
            canonicalize(url, scrapy_safe=scrapy_safe)


def test_printable_text_ascii_or_not_is_no_control_character() -> None:
    assert canonicalize("https://a.example/é~!", scrapy_safe=True).path == "/é~!"
