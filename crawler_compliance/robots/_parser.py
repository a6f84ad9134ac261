"""robots.txt text to groups, line by line, as RFC 9309 §2.1-2.2 describes.

The parser keeps raw values and line numbers only; patterns are normalised
and compiled later, for the groups a crawler actually asks about, so parsing a
file with ten thousand groups costs one pass over its lines.

Grouping (RFC 9309 §2.1): consecutive ``user-agent`` lines open a group; the
group ends only at a ``user-agent`` line that follows at least one
``allow``/``disallow`` line. Other records (``sitemap``, ``crawl-delay``,
unknown lines, blank lines) neither end nor split a group. Rules before the
first ``user-agent`` line belong to no group and are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler_compliance.robots._signals import SignalLine, parse_signal_line
from crawler_compliance.robots._useragent import agent_key

UA, ALLOW, DISALLOW, SITEMAP, DELAY, RATE, SIGNAL = range(7)

# Keys are case-insensitive (RFC 9309 §2.2). Records that are not part of
# RFC 9309 are read leniently, as §2.2.4 allows, from this exact table.
_KEYS = {
    "sitemap": SITEMAP,
    "site-map": SITEMAP,
    "sitemaps": SITEMAP,
    "crawl-delay": DELAY,
    "crawldelay": DELAY,
    "crawl delay": DELAY,
    "crawl_delay": DELAY,
    "request-rate": RATE,
    "requestrate": RATE,
    "request rate": RATE,
    "request_rate": RATE,
    "content-signal": SIGNAL,
    "content-signals": SIGNAL,
    "content-usage": SIGNAL,
}
# The protocol's own keys are read as Google's parser reads them: a key that
# *starts with* one of these names (so "Disallowed" and "User-agents" count),
# including the misspellings it accepts. "user_agent" is not among them: it
# is neither the RFC's key nor one Google accepts, so such a line is ignored
# (it must not start a group of its own).
_PREFIXES = (
    (("user-agent", "useragent", "user agent"), UA),
    (("allow",), ALLOW),
    (("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"), DISALLOW),
    (("sitemap", "site-map"), SITEMAP),
)

# Google's parser keeps at most 2083 * 8 - 1 octets of a line and ignores the
# rest (RFC 9309 is silent on line length; §2.5 only bounds the file).
MAX_LINE_OCTETS = 2083 * 8 - 1
_SURELY_SHORT = MAX_LINE_OCTETS // 4  # characters: at most four octets each


def classify_key(key: str) -> int | None:
    """The record kind of a lower-case key, or None for an unknown key."""
    kind = _KEYS.get(key)
    if kind is None:
        for names, prefix_kind in _PREFIXES:
            if key.startswith(names):
                return prefix_kind
    return kind


_STAR_RUN = re.compile(r"\*{2,}")


def collapse_stars(line: str) -> str:
    """An over-long ``allow``/``disallow`` line with its runs of ``*`` made one ``*``.

    A run of ``*`` means what one ``*`` means; collapsing it *before* the line
    is cut keeps ``Allow: /****…****x$`` the rule it is (``/*x$``) instead of
    cutting it into ``/****…`` (allow everything). Other lines are returned
    as they are (``User-agent: **`` is not the ``*`` group).
    """
    if len(line) <= _SURELY_SHORT or "**" not in line:
        return line
    kind, _ = split_record(line.partition("#")[0])
    if kind not in (ALLOW, DISALLOW):
        return line
    return _STAR_RUN.sub("*", line)


def cap_line(line: str) -> str:
    """``line`` cut to :data:`MAX_LINE_OCTETS` octets (UTF-8, surrogate escapes as one)."""
    if len(line) <= _SURELY_SHORT:
        return line
    raw = line.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_LINE_OCTETS:
        return line
    return raw[:MAX_LINE_OCTETS].decode("utf-8", "surrogateescape")


# Line ends are CR, LF or CRLF only (RFC 9309 §2.2). str.splitlines() also
# splits at form feeds, U+2028 and others, so it is used only when none occur.
# A Latin-1 no-break space (octet A0, kept as a surrogate escape because it is
# not UTF-8) around a value is spacing, as U+00A0 already is for str.strip().
_RAW_NBSP = "\udca0"
_SPACE_AND_NBSP = " \t\xa0\udca0"
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]").search
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass
class Group:
    agents: list[str] = field(default_factory=list)  # values as written
    # (line, allow, value, text) per allow/disallow line
    rules: list[tuple[int, bool, str, str]] = field(default_factory=list)
    has_rules: bool = False  # an allow/disallow line was seen: next user-agent starts a group
    crawl_delay: tuple[int, str] | None = None
    request_rate: tuple[int, str] | None = None
    signals: list[SignalLine] = field(default_factory=list)


@dataclass
class Parsed:
    groups: list[Group]
    index: dict[str, list[int]]  # agent key ("*" or lower-case token) -> group indexes
    sitemaps: list[str]
    signals: list[SignalLine]  # AI-usage lines before any user-agent: they apply to all
    unknown: list[tuple[int, str]]


def split_lines(text: str) -> list[str]:
    if _OTHER_BREAKS(text):
        return _EOL.split(text)
    lines = text.splitlines()
    return lines


def split_record(line: str) -> tuple[int | None, str]:
    """``key: value`` (or ``key value`` without a colon) to (kind, value).

    As in Google's parser: the key is everything before the first colon. A
    line without a colon is read as ``key value`` only when it is exactly two
    words (``Disallow /x``); anything else without a colon is not a record.
    """
    colon = line.find(":")
    if colon >= 0:
        key = line[:colon].strip().lower()
        value = line[colon + 1 :].strip()
        if value and (value[0] == _RAW_NBSP or value[-1] == _RAW_NBSP):
            value = value.strip(_SPACE_AND_NBSP)
    else:
        words = line.split()
        if len(words) != 2:
            return None, ""
        key, value = words[0].lower(), words[1]
    kind = classify_key(key) if key else None
    if kind == SITEMAP and len(key.split()) > 1:
        # "Sitemap https://host/map.xml": the colon found was the URL's.
        value = line.split(None, 1)[1].strip()
    return kind, value


def parse_lines(text: str, *, truncated: bool = False) -> Parsed:
    groups: list[Group] = []
    index: dict[str, list[int]] = {}
    sitemaps: list[str] = []
    global_signals: list[SignalLine] = []
    unknown: list[tuple[int, str]] = []
    current: Group | None = None
    lines = split_lines(text)
    last = len(lines)

    # Files repeat lines (hostile ones by the hundred thousand): each distinct
    # line is read once. The memo holds at most the text's own lines.
    seen: dict[str, tuple[int | None, str, str]] = {}

    for number, raw in enumerate(lines, 1):
        record = seen.get(raw)
        if record is None:
            line = cap_line(collapse_stars(raw))
            hash_at = line.find("#")  # comments run to the end of the line (RFC 9309 §2.2)
            if hash_at >= 0:
                line = line[:hash_at]
            record = (*split_record(line), line.strip())
            seen[raw] = record
        kind, value, shown = record
        if kind is None:
            if shown:
                unknown.append((number, shown))
            continue

        if kind == UA:
            if current is None or current.has_rules:
                current = Group()
                groups.append(current)
            key = agent_key(value)
            if key:
                bucket = index.setdefault(key, [])
                if not bucket or bucket[-1] != len(groups) - 1:
                    bucket.append(len(groups) - 1)
            current.agents.append(value)
        elif kind in (ALLOW, DISALLOW):
            if current is None:
                # RFC 9309 §2.1: rules must follow a user-agent line.
                unknown.append((number, shown))
                continue
            current.has_rules = True
            if value:  # an empty value matches nothing (RFC 9309 §2.2.2)
                if truncated and number == last and kind == ALLOW:
                    # The size cap cut this line: a shortened Allow would allow more.
                    unknown.append((number, shown))
                    continue
                current.rules.append((number, kind == ALLOW, value, shown))
        elif kind == SITEMAP:
            if value:  # RFC 9309 §2.2.4: sitemaps are not tied to any group
                sitemaps.append(value)
        elif kind == SIGNAL:
            signal = parse_signal_line(number, value)
            if signal is None:
                unknown.append((number, shown))
            elif current is None:
                global_signals.append(signal)
            else:
                current.signals.append(signal)
        elif current is None:
            unknown.append((number, shown))
        elif kind == DELAY:
            if current.crawl_delay is None:
                current.crawl_delay = (number, value)
        elif current.request_rate is None:
            current.request_rate = (number, value)
    return Parsed(groups, index, sitemaps, global_signals, unknown)
