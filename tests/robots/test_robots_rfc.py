"""RFC 9309 matrices: grouping, agent matching, longest match, special characters, syntax."""

from __future__ import annotations

import pytest

from crawler_compliance.robots import RobotsTxt, is_allowed, product_token

# RFC 9309 §5.1, verbatim.
RFC_SIMPLE = """\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
"""


@pytest.mark.parametrize(
    ("agent", "path", "allowed"),
    [
        ("foobot", "/example/page.html", True),
        ("foobot", "/example/allowed.gif", True),
        ("foobot", "/example/other.html", False),
        ("foobot", "/", False),
        ("barbot", "/example/page.html", False),
        ("bazbot", "/example/page.html", False),
        ("barbot", "/example/allowed.gif", True),
        ("quxbot", "/example/page.html", True),  # empty group: everything allowed
        ("quxbot", "/anything.gif", True),
        ("otherbot", "/example/page.html", False),  # falls back to '*'
        ("otherbot", "/picture.gif", False),
        ("otherbot", "/picture.gif?x", True),  # '$' anchors the end of the path
        ("otherbot", "/publications/a.html", True),
        ("otherbot", "/elsewhere", True),
    ],
)
def test_rfc_9309_section_5_1_example(agent: str, path: str, allowed: bool) -> None:
    assert RobotsTxt.parse(RFC_SIMPLE).allows("https://example.com" + path, agent) is allowed


@pytest.mark.parametrize(
    ("path", "allowed", "line"),
    [
        ("/example/page/", True, 2),
        ("/example/page/disallowed.gif", False, 3),
        ("/example/page/other.gif", True, 2),
    ],
)
def test_rfc_9309_section_5_2_longest_match(path: str, allowed: bool, line: int) -> None:
    robots = RobotsTxt.parse(
        "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
    )
    match = robots.explain(path, "foobot")
    assert (match.allowed, match.line) == (allowed, line)


@pytest.mark.parametrize(
    ("rules", "path", "allowed"),
    [
        # Longest match by octets wins, whatever the order of lines (§2.2.2).
        ("Allow: /\nDisallow: /private", "/private/x", False),
        ("Disallow: /private\nAllow: /", "/private/x", False),
        ("Disallow: /\nAllow: /public", "/public/x", True),
        # Equal length: Allow wins (§2.2.2).
        ("Disallow: /page\nAllow: /page", "/page", True),
        ("Allow: /page\nDisallow: /page", "/page", True),
        ("Disallow: /pag*\nAllow: /page", "/page", True),
        # '*' matches any run of characters, including none (§2.2.3).
        ("Disallow: /*.php", "/index.php", False),
        ("Disallow: /*.php", "/a/b/c.php?q=1", False),
        ("Disallow: /*.php", "/php", True),
        ("Disallow: /a*b*c", "/aXXbYYc", False),
        ("Disallow: /a*b*c", "/aXXcYYb", True),
        ("Disallow: /**a", "/xa", False),
        # '$' anchors the end (§2.2.3).
        ("Disallow: /*.php$", "/index.php", False),
        ("Disallow: /*.php$", "/index.php?x", True),
        ("Disallow: /*.php$", "/index.php5", True),
        ("Disallow: /exact$", "/exact", False),
        ("Disallow: /exact$", "/exact/more", True),
        ("Disallow: /a$b", "/a$bc", False),  # '$' not at the end is a plain character
        ("Disallow: /a*b$", "/aXb", False),
        ("Disallow: /a*b$", "/ab", False),
        ("Disallow: /ab*b$", "/ab", True),  # pieces may not overlap
        # Patterns are prefixes: /fish matches /fish.html and /fishheads.
        ("Disallow: /fish", "/fish.html", False),
        ("Disallow: /fish", "/Fish.asp", True),  # paths are case-sensitive
        ("Disallow: /fish/", "/fish", True),
        # Empty Disallow matches nothing (§2.2.2).
        ("Disallow:", "/anything", True),
        ("Disallow:\nDisallow: /x", "/x", False),
        # A query is part of what rules see.
        ("Disallow: /*?", "/page?x=1", False),
        ("Disallow: /*?", "/page", True),
        ("Disallow: /search?q=", "/search?q=cats", False),
        # A pattern not starting with '/' or '*' can never match a path.
        ("Disallow: private", "/private", True),
    ],
)
def test_matching_matrix(rules: str, path: str, allowed: bool) -> None:
    assert is_allowed(f"User-agent: *\n{rules}\n", "bot", path) is allowed


@pytest.mark.parametrize(
    ("rule", "url", "allowed"),
    [
        # Unreserved escapes are decoded on both sides (§2.2.2, RFC 3986 §6.2.2.2).
        ("/foo/bar/%62%61%7A", "/foo/bar/baz", False),
        ("/foo/bar/baz", "/foo/bar/%62%61%7a", False),
        ("/%7Euser", "/~user/page", False),
        # Hex case does not matter.
        ("/a%2fb", "/a%2Fb", False),
        ("/a%2Fb", "/a%2fb", False),
        # Reserved escapes are kept: %2F is not '/'.
        ("/a%2Fb", "/a/b", True),
        ("/a/b", "/a%2Fb", True),
        # Non-ASCII as UTF-8 (RFC 9309 §2.2.2 table).
        ("/foo/bar/\u30c4", "/foo/bar/%E3%83%84", False),
        ("/foo/bar/%E3%83%84", "/foo/bar/\u30c4", False),
        ("/caf\u00e9", "https://example.com/caf%C3%A9/menu", False),
        # %2A and %24 in a rule are the literal characters (§2.2.3): they match a
        # '*' or '$' in the URL, written raw or encoded, and nothing else.
        ("/a%2A", "/a*", False),
        ("/a%2A", "/aXYZ", True),
        ("/a%2A", "/a%2A", False),
        ("/a%24", "/a", True),
        ("/a%24", "/a%24", False),
        # Characters that must be escaped are, on both sides.
        ("/a b", "/a%20b", False),
        ("/a%20b", "/a b", False),
        ("/100%", "/100%25", False),
    ],
)
def test_percent_encoding_normal_form(rule: str, url: str, allowed: bool) -> None:
    assert is_allowed(f"User-agent: *\nDisallow: {rule}\n", "bot", url) is allowed


def test_rfc_table_row_with_reserved_characters_in_the_query() -> None:
    # RFC 9309 §2.2.2's table: "/foo/bar?baz=https://foo.bar" is matched as
    # "/foo/bar?baz=https%3A%2F%2Ffoo.bar". In a query ':' and '/' are data
    # (RFC 3986 §3.4), so both spellings are one; in the path '%2F' stays
    # distinct from '/'. Google's parser compares octets as given and does
    # not match the encoded URL; we follow the RFC.
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /foo/bar?baz=https://foo.bar\n")
    assert not robots.allows("/foo/bar?baz=https://foo.bar", "bot")
    assert not robots.allows("/foo/bar?baz=https%3A%2F%2Ffoo.bar", "bot")
    assert not robots.allows("/foo/bar?baz=https%3a%2f%2ffoo.bar", "bot")
    assert robots.allows("/foo/bar?baz=https%3A%2F%2Fother.bar", "bot")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com", False),  # empty path means '/'
        ("https://example.com/", False),
        ("https://example.com?q", False),
        ("https://example.com/robots.txt", True),  # always allowed (§2.2.2)
        ("/robots.txt", True),
        ("https://example.com/robots.txt?x=1", True),
        ("https://example.com/robots.txt.bak", False),
        ("https://example.com/open#frag", True),  # fragments are ignored
        ("https://example.com/x#/open", False),
        ("https://user:pw@example.com:8080/open/x", True),
    ],
)
def test_urls(url: str, allowed: bool) -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\nAllow: /open\n")
    assert robots.allows(url, "bot") is allowed


@pytest.mark.parametrize(
    ("text", "agent", "path", "allowed"),
    [
        # Groups end only at a user-agent line after rules; other records don't split.
        ("User-agent: a\nCrawl-delay: 5\nUser-agent: b\nDisallow: /x\n", "a", "/x", False),
        (
            "User-agent: a\nSitemap: https://e/s.xml\nUser-agent: b\nDisallow: /x\n",
            "a",
            "/x",
            False,
        ),
        ("User-agent: a\nfoo: bar\nUser-agent: b\nDisallow: /x\n", "a", "/x", False),
        ("User-agent: a\n\nUser-agent: b\nDisallow: /x\n", "a", "/x", False),  # blank line
        ("User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /y\n", "a", "/y", True),
        ("User-agent: a\nDisallow: /x\n\nDisallow: /y\n", "a", "/y", False),
        ("User-agent: a\nDisallow:\nUser-agent: b\nDisallow: /y\n", "a", "/y", True),
        # Every group naming the agent is merged.
        (
            "User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /z\nUser-agent: a\n"
            "Disallow: /y\n",
            "a",
            "/y",
            False,
        ),
        (
            "User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /z\nUser-agent: a\n"
            "Disallow: /y\n",
            "a",
            "/x",
            False,
        ),
        # '*' only when no group names the agent.
        ("User-agent: *\nDisallow: /\nUser-agent: a\nDisallow: /x\n", "a", "/y", True),
        ("User-agent: *\nDisallow: /\nUser-agent: a\nDisallow: /x\n", "b", "/y", False),
        # No group for the agent and no '*': allowed.
        ("User-agent: a\nDisallow: /\n", "b", "/", True),
        # Rules before the first user-agent line are ignored.
        ("Disallow: /\nUser-agent: a\nDisallow: /x\n", "a", "/y", True),
        ("Disallow: /\n", "a", "/", True),
        # Agent matching is case-insensitive and exact, on the product token.
        ("User-agent: MyBot\nDisallow: /\n", "mybot", "/", False),
        ("User-agent: mybot\nDisallow: /\n", "MyBot/1.2 (+https://x)", "/", False),
        ("User-agent: MyBot/2.0\nDisallow: /\n", "MyBot", "/", False),
        ("User-agent: bot\nDisallow: /\n", "MyBot", "/", True),
        ("User-agent: MyBot\nDisallow: /\n", "MyBot-Images", "/", True),
        ("User-agent: MyBot-Images\nDisallow: /\n", "MyBot", "/", True),
        ("User-agent: Mozilla/5.0 MyBot\nDisallow: /\n", "MyBot", "/", True),
        ("User-agent: *bot\nDisallow: /\n", "MyBot", "/", True),
        ("User-agent: * \nDisallow: /\n", "MyBot", "/", False),
    ],
)
def test_grouping_matrix(text: str, agent: str, path: str, allowed: bool) -> None:
    assert is_allowed(text, agent, path) is allowed


@pytest.mark.parametrize(
    "text",
    [
        "User-agent: *\nDisallow: /x\n",
        "User-agent: *\rDisallow: /x\r",  # CR only
        "User-agent: *\r\nDisallow: /x\r\n",  # CRLF
        "\ufeffUser-agent: *\nDisallow: /x\n",  # BOM
        "user-AGENT: *\nDISALLOW: /x\n",  # keys are case-insensitive
        "User-agent : *\nDisallow : /x\n",  # space before the colon
        "  User-agent:*\n\tDisallow:/x   \n",  # leading and trailing whitespace
        "User-agent: * # all\nDisallow: /x # private\n# a comment\n",
        "User-agent *\nDisallow /x\n",  # no colon, as Google accepts
        "User agent: *\nDisallow: /x\n",
        "Useragent: *\nDissallow: /x\n",
        "User-agent: *\nDisalow: /x\n",
        "User-agent: *\ndisallaw: /x\n",
    ],
)
def test_syntax_tolerance(text: str) -> None:
    for body in (text, text.encode("utf-8")):
        robots = RobotsTxt.parse(body)
        assert not robots.allows("/x/y", "bot")
        assert robots.allows("/y", "bot")


def test_bytes_with_bom_and_line_numbers() -> None:
    robots = RobotsTxt.parse(b"\xef\xbb\xbfUser-agent: *\r\n\r\nDisallow: /x\r\n")
    match = robots.explain("/x", "bot")
    assert (match.allowed, match.line, match.rule, match.group) == (
        False,
        3,
        "Disallow: /x",
        ("*",),
    )


def test_form_feed_is_not_a_line_break() -> None:
    # Only CR, LF and CRLF end lines (§2.2); line numbers must follow that.
    robots = RobotsTxt.parse("User-agent: *\nAllow: /\x0c\nDisallow: /x\n")
    assert robots.explain("/x", "bot").line == 3


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("MyBot/1.2 (+https://x)", "MyBot"),
        ("MyBot", "MyBot"),
        ("my_bot-2/3", "my_bot-2"),
        ("  Spaced/1", "Spaced"),
        ("(weird)", ""),
        ("", ""),
    ],
)
def test_product_token(header: str, token: str) -> None:
    assert product_token(header) == token


def test_explain_names_line_rule_and_group() -> None:
    robots = RobotsTxt.parse(
        "User-agent: a\nUser-agent: B\nAllow: /\nDisallow: /private\n"
        "\nUser-agent: a\nAllow: /private/ok\n"
    )
    deny = robots.explain("https://e.com/private/x", "a/1.0")
    assert deny == type(deny)(False, 4, "Disallow: /private", ("a", "B"), deny.reason)
    assert "line 4" in deny.reason
    ok = robots.explain("https://e.com/private/ok", "A")
    assert (ok.allowed, ok.line, ok.rule, ok.group) == (True, 7, "Allow: /private/ok", ("a",))
    none = robots.explain("/x", "c")
    assert (none.allowed, none.line, none.group) == (True, None, None)
    assert "no group" in none.reason


def test_sitemaps_unknown_lines_and_fingerprint() -> None:
    import hashlib

    body = (
        b"Sitemap: https://e.com/a.xml\nDisallow: /early\nUser-agent: *\n"
        b"Disallow: /x\nNoindex: /y\nsitemap https://e.com/b.xml\n<html>\n"
    )
    robots = RobotsTxt.parse(body)
    assert robots.sitemaps == ("https://e.com/a.xml", "https://e.com/b.xml")
    assert robots.unknown_lines == ((2, "Disallow: /early"), (5, "Noindex: /y"), (7, "<html>"))
    assert robots.fingerprint == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("10 # seconds", 10.0),
        ("-1", None),
        ("nan", None),
        ("soon", None),
        ("inf", 60.0),
        ("1e26", 60.0),
        ("3600", 60.0),
        ("", None),
    ],
)
def test_crawl_delay_clamped(value: str, delay: float | None) -> None:
    robots = RobotsTxt.parse(f"User-agent: *\nCrawl-delay: {value}\nDisallow: /x\n")
    assert robots.crawl_delay("bot") == delay


def test_crawl_delay_per_group_and_first_wins() -> None:
    robots = RobotsTxt.parse(
        "User-agent: a\nCrawl-delay: 2\nCrawl-delay: 9\nDisallow: /\n"
        "User-agent: *\nCrawl-delay: 7\n"
    )
    assert robots.crawl_delay("a") == 2.0
    assert robots.crawl_delay("b") == 7.0
    assert RobotsTxt.parse("User-agent: a\nDisallow: /\n").crawl_delay("b") is None


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        ("1/5", (1.0, 5.0)),
        ("1/5s", (1.0, 5.0)),
        ("10/1m", (10.0, 60.0)),
        ("1/1h", (1.0, 60.0)),  # clamped: at most one request a minute
        ("0/5", None),
        ("1/0", None),
        ("x/y", None),
        ("1e400/5", None),
    ],
)
def test_request_rate(value: str, rate: tuple[float, float] | None) -> None:
    robots = RobotsTxt.parse(f"User-agent: *\nRequest-rate: {value}\n")
    got = robots.request_rate("bot")
    assert (tuple(got) if got else None) == rate
    if got:
        assert 0 <= got.delay <= 60


def test_content_signals_and_usage() -> None:
    robots = RobotsTxt.parse(
        "Content-Usage: train-ai=N\n"
        "User-agent: *\n"
        "Content-Signal: Search=Yes, AI-Train=No\n"
        "Content-Usage: /news/ train-ai=y\n"
        "Content-Usage: /news/archive/ train-ai=n, search=n\n"
        "Allow: /\n"
        "User-agent: otherbot\n"
        "Content-Signal: ai-input=no\n"
        "Disallow: /\n"
    )
    assert robots.content_signals("bot") == {"train-ai": "n", "search": "yes", "ai-train": "no"}
    assert robots.content_signals("bot", "https://e.com/news/1")["train-ai"] == "y"
    assert robots.content_signals("bot", "https://e.com/news/archive/1") == {
        "train-ai": "n",
        "search": "n",
        "ai-train": "no",
    }
    assert robots.content_signals("otherbot") == {"train-ai": "n", "ai-input": "no"}


@pytest.mark.parametrize(
    "body",
    [
        b"User-Agent: *\xa0\r\nDisallow: /x\r\n",  # Latin-1 no-break space after '*'
        b"User-agent: *\nDisallow:\xa0/x\n",  # ... before the value
        "User-agent: *\nDisallow:\u00a0/x\n".encode(),  # the same in UTF-8
    ],
)
def test_no_break_space_is_spacing(body: bytes) -> None:
    robots = RobotsTxt.parse(body)
    assert not robots.allows("/x", "bot")
    assert robots.allows("/y", "bot")


def test_explain_builds_the_same_match_as_the_dataclass() -> None:
    """explain() fills RobotsMatch directly: equal to one built field by field, and frozen."""
    import dataclasses

    from crawler_compliance.robots import RobotsMatch, RobotsTxt

    robots = RobotsTxt.parse(b"User-agent: *\nDisallow: /private\n")
    match = robots.explain("https://example.com/private/x", "Bot")
    assert match == RobotsMatch(
        False,
        2,
        "Disallow: /private",
        ("*",),
        "line 2 disallows /private/x (longest matching rule)",
    )
    assert match.path == "/private/x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.allowed = True  # type: ignore[misc]
    free = robots.explain("https://example.com/open", "Bot")
    assert free == RobotsMatch(
        True, None, None, ("*",), "no rule in the group for * matches /open: allowed"
    )
