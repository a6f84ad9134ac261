"""Conformance rows: RFC 9309 text, and Google's reference parser where the RFC is silent.

Each row is (robots.txt, crawler, URL, allowed). Where RFC 9309 and Google's
parser (github.com/google/robotstxt) disagree we follow the RFC; those rows
say so in a comment.
"""

from __future__ import annotations

import pytest

from crawler_compliance.robots import RobotsTxt, product_token

H = "http://foo.bar"
# Google's parser keeps 2083 * 8 - 1 octets of a line and ignores the rest.
LINE_CAP = 2083 * 8 - 1


def _verdict(body: str | bytes, agent: str, url: str) -> bool:
    return RobotsTxt.parse(body).allows(url, agent)


# -- RFC 9309 §2.2.3: %2A and %24 name a literal '*' and '$' in the URI ------------------

SPECIAL = [
    # The RFC's own table: an encoded pattern matches the raw character in the URI.
    ("/path/file-with-a-%2A.html", "https://www.example.com/path/file-with-a-*.html", False),
    ("/path/file-with-a-%2A.html", "https://www.example.com/path/file-with-a-%2A.html", False),
    ("/path/file-with-a-%2a.html", "https://www.example.com/path/file-with-a-*.html", False),
    ("/path/file-with-a-%2A.html", "https://www.example.com/path/file-with-a-x.html", True),
    ("/path/foo-%24", "https://www.example.com/path/foo-$", False),
    ("/path/foo-%24", "https://www.example.com/path/foo-$/more", False),
    ("/path/foo-%24", "https://www.example.com/path/foo-", True),
    # A '$' that does not end the pattern is literal, whichever way the URL writes it.
    ("/a$b", "/a$bc", False),
    ("/a$b", "/a%24bc", False),
    ("/a$b", "/ab", True),
    # A '*' in the URL is matched by the wildcard as any other character.
    ("/a*c", "/a*c", False),
    ("/a*c$", "/a*", True),
]


@pytest.mark.parametrize(("rule", "url", "allowed"), SPECIAL)
def test_rfc_percent_encoded_special_characters(rule: str, url: str, allowed: bool) -> None:
    # Google's parser compares octets as given, so "/path/foo-%24" does not match
    # ".../foo-$" there; RFC 9309 §2.2.3 says it does, and we follow the RFC.
    assert _verdict(f"User-agent: *\nDisallow: {rule}\n", "bot", url) is allowed


# -- RFC 9309 §2.2.2 table: reserved characters inside a query -----------------------------

QUERY = [
    ("/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar", False),
    ("/foo/bar?baz=https%3A%2F%2Ffoo.bar", "/foo/bar?baz=https://foo.bar", False),
    ("/foo/bar?baz=https%3a%2f%2ffoo.bar", "/foo/bar?baz=https://foo.bar", False),
    ("/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https://foo.bar/x", False),
    ("/foo/bar?baz=quz", "/foo/bar?baz=quz", False),
    ("/s?u=a@b", "/s?u=a%40b", False),
    ("/s?next=/a?b", "/s?next=%2Fa%3Fb", False),
    ("/*?url=http://", "/page?url=http%3A%2F%2Fexample.com", False),
    # '&' and '=' separate a query's fields: their escapes stay distinct.
    ("/s?a=1&b=2", "/s?a=1%26b=2", True),
    ("/s?a=1", "/s?a%3D1", True),
    # In the path, '%2F' is not '/': "/a%2Fb" is one segment, "/a/b" two.
    ("/a/b", "/a%2Fb", True),
    ("/a%2Fb", "/a/b", True),
    ("/a%2Fb?x=/", "/a%2Fb?x=%2F", False),
]


@pytest.mark.parametrize(("rule", "url", "allowed"), QUERY)
def test_rfc_reserved_characters_in_query(rule: str, url: str, allowed: bool) -> None:
    # RFC 9309 §2.2.2's table matches "/foo/bar?baz=https://foo.bar" as
    # "...https%3A%2F%2Ffoo.bar". Google's parser does not (octets as given);
    # we follow the RFC for ':', '/', '?' and '@' after the first '?'.
    assert _verdict(f"User-agent: *\nDisallow: {rule}\n", "bot", url) is allowed


# -- RFC 9309 §2.2.1: the product token of a full User-Agent header --------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        # The RFC's own example header, whose product token is ExampleBot.
        (
            "Mozilla/5.0 (compatible; ExampleBot/0.1; https://www.example.com/bot.html)",
            "ExampleBot",
        ),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
            "+http://www.google.com/bot.html) Chrome/120.0 Safari/537.36",
            "Googlebot",
        ),
        ("mozilla/5.0 (compatible;bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "Mozilla"),
        ("MyBot/1.0 (compatible; Other/1.0)", "MyBot"),
    ],
)
def test_product_token_of_compatible_header(header: str, token: str) -> None:
    assert product_token(header) == token


def test_rfc_example_header_selects_the_group() -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\n\nuser-agent: ExampleBot\nDisallow: /x\n")
    header = "Mozilla/5.0 (compatible; ExampleBot/0.1; https://www.example.com/bot.html)"
    assert robots.allows("https://www.example.com/page", header)
    assert not robots.allows("https://www.example.com/x", header)
    # The robots.txt side is not rewritten: "User-agent: Mozilla/5.0 (compatible; X)"
    # names Mozilla, as in Google's parser.
    other = RobotsTxt.parse("User-agent: Mozilla/5.0 (compatible; ExampleBot)\nDisallow: /\n")
    assert other.allows("/x", "ExampleBot")


# -- Google's parser, where RFC 9309 is silent ----------------------------------------------

LONG_A = "/x/" + "a" * (LINE_CAP - len("allow: /x/") + 1)
LONG_B = "/x/" + "b" * (LINE_CAP - len("allow: /x/") + 1)
LONG_D = "/x/" + "a" * (LINE_CAP - len("disallow: /x/") + 1)
LONG_ALLOWS = f"user-agent: FooBot\ndisallow: /\nallow: {LONG_A}/qux\nallow: {LONG_B}/qux\n"

GOOGLE = [
    # A line without a colon is "key value" only when it is exactly two words.
    ("user-agent FooBot\ndisallow /\n", "FooBot", H + "/x/y", False),
    ("user-agent: FooBot\ndisallow /x y\n", "FooBot", H + "/x%20y", True),
    ("user agent FooBot\ndisallow: /\n", "FooBot", H + "/x", True),
    # The key is everything before the first colon: "Disallow /foo" with value "bar",
    # which matches no path.
    ("User-agent: *\nDisallow /foo:bar\n", "bot", "/foo:bar", True),
    # Keys are recognised by their start, misspellings included.
    ("User-agent: *\nDisallowed: /x\n", "bot", "/x", False),
    ("User-agents: *\nDisallow: /x\n", "bot", "/x", False),
    ("Useragent: *\nDissalow: /x\n", "bot", "/x", False),
    ("User-agent: *\nDiasllow: /x\n", "bot", "/x", False),
    ("User-agent: *\nDisallow: /\nAllowed: /x\n", "bot", "/x", True),
    # "User_agent" is neither the RFC's key nor one Google accepts: it does not start
    # a group, so the Allow below joins the '*' group.
    ("User-agent: *\nDisallow: /\nUser_agent: foo\nAllow: /\n", "other", "/x", True),
    # '*' is the global group alone or followed by a space; "*/1.0" names nothing.
    ("User-agent: */1.0\nDisallow: /\n", "bot", "/x", True),
    ("User-agent: * everyone\nDisallow: /\n", "bot", "/x", False),
    ("User-agent: *\tall\nDisallow: /\n", "bot", "/x", False),
    # A robots.txt value is cut at the first character outside the token alphabet.
    (
        "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
        "Foo",
        H + "/x/y",
        True,
    ),
    ("User-Agent: FoO bAr\nAllow: /x/\nDisallow: /\n", "foo", H + "/a/b", False),
    # Lines longer than the cap are cut; what is left is the rule.
    (f"user-agent: FooBot\ndisallow: {LONG_D}/qux\n", "FooBot", H + "/fux", True),
    (f"user-agent: FooBot\ndisallow: {LONG_D}/qux\n", "FooBot", H + LONG_D + "/fux", False),
    (LONG_ALLOWS, "FooBot", H + "/", False),
    (LONG_ALLOWS, "FooBot", H + LONG_A + "/qux", True),
    (LONG_ALLOWS, "FooBot", H + LONG_B + "/fux", True),
    # A URL given without a scheme starts with its host.
    ("User-agent: *\nDisallow: /a\n", "bot", "example.com/a", False),
    ("User-agent: *\nDisallow: /b\n", "bot", "a/b", False),
    ("User-agent: *\nDisallow: /a\n", "bot", "a", True),
    ("User-agent: *\nDisallow: /?a\n", "bot", "example.com?a", False),
    ("User-agent: *\nDisallow: /a;b\n", "bot", "example.com/a;b#c", False),
    ("User-agent: *\nDisallow: /a\n", "bot", "example.com#/a", True),
    ("User-agent: *\nDisallow: /a\n", "bot", "localhost:8080/a", False),
    ("User-agent: *\nDisallow: /b/c\n", "bot", "//a/b/c", False),
]


@pytest.mark.parametrize(("body", "agent", "url", "allowed"), GOOGLE)
def test_google_reference_behaviour(body: str, agent: str, url: str, allowed: bool) -> None:
    assert _verdict(body, agent, url) is allowed


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        (b"\xef\xbb\xbfUser-Agent: foo\nDisallow: /AnyValue\n", False),
        # A BOM cut short is skipped too.
        (b"\xef\xbbUser-Agent: foo\nDisallow: /AnyValue\n", False),
        (b"\xefUser-Agent: foo\nDisallow: /AnyValue\n", False),
        # A broken BOM makes the first line garbage; the rule then has no group.
        (b"\xef\x11\xbfUser-Agent: foo\nDisallow: /AnyValue\n", True),
        # A BOM is only skipped at the start of the file.
        (b"User-Agent: foo\n\xef\xbb\xbfDisallow: /AnyValue\n", True),
    ],
)
def test_byte_order_marks(body: bytes, allowed: bool) -> None:
    assert _verdict(body, "foo", "/AnyValue") is allowed


def test_line_cap_counts_octets_not_characters() -> None:
    # 3-octet characters: the cap falls after a third of the characters.
    rule = "/" + "\u30c4" * (LINE_CAP // 3 + 100)
    robots = RobotsTxt.parse(f"User-agent: *\nDisallow: {rule}\n")
    kept = (LINE_CAP - len("Disallow: /")) // 3  # whole characters; two octets of the next
    assert not robots.allows("/" + "\u30c4" * (kept + 1), "bot")
    assert robots.allows("/" + "\u30c4" * kept + "Z", "bot")


# -- Where Google's parser differs from RFC 9309: we follow the RFC -------------------------

RFC_OVER_GOOGLE = [
    # Google-only: "index.html" at the end of an Allow also allows the directory.
    # RFC 9309 has no such rule; the longest match decides.
    ("User-Agent: *\nAllow: /d/index.html\nDisallow: /\n", "foobot", "http://foo.com/d/", False),
    (
        "User-Agent: *\nAllow: /d/index.html\nDisallow: /\n",
        "foobot",
        "http://foo.com/d/index.html",
        True,
    ),
    ("User-Agent: *\nAllow: /d/index.htm\nDisallow: /\n", "foobot", "http://foo.com/d/", False),
    # RFC 9309 §2.2.2 table: "/foo/bar/%62%61%7A" is matched as "/foo/bar/baz".
    # Google compares the escapes as written.
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
        "FooBot",
        H + "/foo/bar/baz",
        True,
    ),
    # RFC 9309 §2.2.2: non-ASCII octets in the URI are percent-encoded before
    # comparison; Google expects the caller to have encoded the URL.
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/\u30c4\n",
        "FooBot",
        H + "/foo/bar/\u30c4",
        True,
    ),
    # RFC 9309 §2.2.3: "%2A" in a rule is a literal '*' in the URI.
    ("User-agent: *\nDisallow: /a%2A\n", "bot", "/a*", False),
]


@pytest.mark.parametrize(("body", "agent", "url", "allowed"), RFC_OVER_GOOGLE)
def test_rfc_where_google_differs(body: str, agent: str, url: str, allowed: bool) -> None:
    assert _verdict(body, agent, url) is allowed


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/report.pdf", False),
        ("/a/b/report.pdf", False),
        ("/report.pdfx", True),  # $ ends the path: .pdf must be last
        ("/report.pdf?page=2", True),  # the query is part of the matched path
        ("/report.PDF", True),  # paths match case-sensitively
        ("/.pdf", False),
        ("/keep/any.pdf", True),  # the longer Allow wins
        ("/end", False),  # "/end*$" is "/end" followed by anything
        ("/endless/x", False),
    ],
)
def test_rules_anchored_at_the_end_match_only_paths_ending_with_them(path, allowed) -> None:
    robots = RobotsTxt.parse(
        "User-agent: *\nDisallow: /*.pdf$\nAllow: /keep/*.pdf$\nDisallow: /end*$\n"
    )
    url = f"https://example.com{path}"
    assert robots.allows(url, "ExampleBot") is allowed
    assert robots.explain(url, "ExampleBot").allowed is allowed
    # The lookup the crawl's fast path uses gives an allow only where there is one.
    assert (robots.allowing(url, "ExampleBot") is not None) is allowed
