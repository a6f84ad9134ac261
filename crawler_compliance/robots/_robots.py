"""The parsed robots.txt and its verdicts: which group applies, which rule wins, and why.

Group choice (RFC 9309 §2.2.1): every group naming the crawler's product token
(case-insensitive, exact) is merged into one; the ``*`` group applies only
when no group names the crawler; with neither, everything is allowed. The
choice and its compiled rules are cached per user-agent string, because a
crawler asks about one or two agents millions of times.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from crawler_compliance._frozen import filled
from crawler_compliance.robots._decode import DEFAULT_MAX_BYTES, decode
from crawler_compliance.robots._matcher import CompiledRules, Rule
from crawler_compliance.robots._normalize import normalize_pattern, path_only, request_path
from crawler_compliance.robots._parser import Parsed, parse_lines
from crawler_compliance.robots._signals import merge_signal_sources, merge_signals
from crawler_compliance.robots._useragent import product_token
from crawler_compliance.robots._values import RequestRate, parse_crawl_delay, parse_request_rate

_MAX_CACHED_AGENTS = 64


@dataclass(frozen=True)
class RobotsMatch:
    """Why a URL is allowed or not: the deciding line, its text, and the group it is in."""

    allowed: bool
    line: int | None
    rule: str | None  # the line as written, e.g. "Disallow: /private"
    group: tuple[str, ...] | None  # user-agent values of the group, e.g. ("*",)
    reason: str
    # The request path and query as matched (normal form); quote it only after
    # redacting it, it may carry a secret from the query.
    path: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Selection:
    """The groups chosen for a product token, and their rules compiled."""

    groups: tuple[int, ...]
    agents: tuple[str, ...]
    rules: CompiledRules


class RobotsTxt:
    """A parsed robots.txt. Build it with :meth:`parse`; it never raises on content."""

    def __init__(
        self,
        parsed: Parsed,
        *,
        fingerprint: str,
        truncated: bool,
        problem: str | None,
        encoding: str,
    ) -> None:
        self._parsed = parsed
        self._fingerprint = fingerprint
        self._truncated = truncated
        self._problem = problem
        self._encoding = encoding
        self._selections: dict[str, _Selection | None] = {}
        self._licences: tuple[tuple[int, str], ...] | None = None
        # Most files say nothing of AI use: then no URL needs their signals worked out.
        self.has_signals = bool(parsed.signals) or any(g.signals for g in parsed.groups)
        self._by_groups: dict[tuple[int, ...], _Selection] = {}
        self._agents_of: dict[int, tuple[str, ...]] = {}  # a group's user-agent values

    @classmethod
    def parse(cls, body: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> RobotsTxt:
        """Parse a robots.txt body (bytes as served, or text).

        Bytes may carry a UTF-8 BOM, be UTF-16 or gzip-compressed. Only the
        first ``max_bytes`` octets are read (RFC 9309 §2.5); the rest is
        ignored, it does not make the file allow-all.
        """
        return cls._parse(body, max_bytes=max_bytes)

    @classmethod
    def _parse(
        cls, body: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES, charset: str | None = None
    ) -> RobotsTxt:
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")
        decoded = decode(body, max_bytes, charset)
        parsed = parse_lines(decoded.text, truncated=decoded.truncated)
        return cls(
            parsed,
            fingerprint=hashlib.sha256(raw).hexdigest(),
            truncated=decoded.truncated,
            problem=decoded.problem,
            encoding=decoded.encoding,
        )

    # -- facts about the file ---------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the raw body as given to :meth:`parse`."""
        return self._fingerprint

    @property
    def truncated(self) -> bool:
        """True when the body was longer than the size cap and only its start was read."""
        return self._truncated

    @property
    def sitemaps(self) -> tuple[str, ...]:
        return tuple(self._parsed.sitemaps)

    @property
    def unknown_lines(self) -> tuple[tuple[int, str], ...]:
        """Lines with no effect: unknown keys, and rules before the first user-agent line."""
        return tuple(self._parsed.unknown)

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        """The user-agent values of each group, in file order."""
        return tuple(tuple(group.agents) for group in self._parsed.groups)

    # -- verdicts ---------------------------------------------------------------------

    def _select(self, user_agent: str) -> _Selection | None:
        try:
            return self._selections[user_agent]
        except KeyError:
            pass
        token = product_token(user_agent)
        index = self._parsed.index
        chosen = index.get(token.lower(), []) if token else []
        if not chosen:
            chosen = index.get("*", [])
        selection = None
        if chosen and tuple(chosen) in self._by_groups:
            # Another user-agent string chose the same groups: share the compiled rules.
            selection = self._by_groups[tuple(chosen)]
        elif chosen:
            groups = self._parsed.groups
            rules = []
            agents: dict[str, None] = {}  # ordered set: 100k user-agent lines stay linear
            patterns: dict[str, str] = {}  # value -> normal form: repeated values cost once
            kept: set[tuple[bool, str]] = set()
            for number in chosen:
                group = groups[number]
                agents.update(dict.fromkeys(group.agents))
                for line, allow, value, text in group.rules:
                    pattern = patterns.get(value)
                    if pattern is None:
                        pattern = patterns[value] = normalize_pattern(value)
                    elif (allow, pattern) in kept:
                        continue  # the same rule again: the first line explains it
                    kept.add((allow, pattern))
                    rules.append(Rule(len(pattern), allow, pattern, line, text, number))
            selection = _Selection(tuple(chosen), tuple(agents), CompiledRules(rules))
            self._by_groups[selection.groups] = selection
        if len(self._selections) >= _MAX_CACHED_AGENTS:
            self._selections.clear()
            self._by_groups.clear()
        self._selections[user_agent] = selection
        return selection

    def allows(self, url: str, user_agent: str) -> bool:
        """May ``user_agent`` (a product token or full User-Agent header) fetch ``url``?"""
        try:
            selection = self._selections[user_agent]
        except KeyError:
            selection = self._select(user_agent)
        if selection is None:
            return True
        path = request_path(url)
        best = selection.rules.best(path)
        if best is None or best.allow:
            return True
        # RFC 9309 §2.2.2: /robots.txt is always allowed.
        return path_only(path) == "/robots.txt"

    def explain(self, url: str, user_agent: str) -> RobotsMatch:
        """The verdict for ``url`` with the deciding line, its text and its group."""
        path = request_path(url)
        selection = self._select(user_agent)
        if path.startswith("/robots.txt") and path.partition("?")[0] == "/robots.txt":
            return RobotsMatch(
                True, None, None, None, "/robots.txt itself is always allowed (RFC 9309 §2.2.2)"
            )
        if selection is None:
            return RobotsMatch(
                True,
                None,
                None,
                None,
                f"no group names {product_token(user_agent) or user_agent!r} "
                "and there is no '*' group: everything is allowed",
            )
        best = selection.rules.best(path)
        if best is None:
            agents = ", ".join(selection.agents)
            return filled(
                RobotsMatch,
                {
                    "allowed": True,
                    "line": None,
                    "rule": None,
                    "group": selection.agents,
                    "reason": f"no rule in the group for {agents} matches {path}: allowed",
                    "path": path,
                },
            )
        group = self._group_agents(best.group)
        verb = "allows" if best.allow else "disallows"
        return filled(
            RobotsMatch,
            {
                "allowed": best.allow,
                "line": best.line,
                "rule": best.text,
                "group": group,
                "reason": f"line {best.line} {verb} {path} (longest matching rule)",
                "path": path,
            },
        )

    def allowing(
        self, url: str, user_agent: str
    ) -> tuple[int | None, str | None, tuple[str, ...]] | None:
        """What allows ``url``: the ``(line, rule, group)`` :meth:`explain` would name.

        ``None`` when a rule disallows it, or when the answer is not a rule's
        (the robots.txt path itself, no group for the agent): ask
        :meth:`explain`. A crawl's allows come from a few rules; this answers
        one without building the match and its text for each URL.
        """
        path = request_path(url)
        selection = self._selections.get(user_agent)  # _select's memo, read in line
        if selection is None:
            selection = self._select(user_agent)
        if selection is None or path.startswith("/robots.txt"):
            return None
        best = selection.rules.best(path)
        if best is None:
            return (None, None, selection.agents)
        if not best.allow:
            return None
        return (best.line, best.text, self._group_agents(best.group))

    def _group_agents(self, number: int) -> tuple[str, ...]:
        agents = self._agents_of.get(number)
        if agents is None:
            agents = self._agents_of[number] = tuple(self._parsed.groups[number].agents)
        return agents

    def crawl_delay(self, user_agent: str) -> float | None:
        """Crawl-delay in seconds for the group used, clamped to ``MAX_CRAWL_DELAY``."""
        selection = self._select(user_agent)
        if selection is None:
            return None
        for number in selection.groups:
            value = self._parsed.groups[number].crawl_delay
            if value is not None:
                delay = parse_crawl_delay(value[1])
                if delay is not None:
                    return delay
        return None

    def request_rate(self, user_agent: str) -> RequestRate | None:
        """Request-rate for the group used (``RequestRate(requests, seconds)``), or None."""
        selection = self._select(user_agent)
        if selection is None:
            return None
        for number in selection.groups:
            value = self._parsed.groups[number].request_rate
            if value is not None:
                rate = parse_request_rate(value[1])
                if rate is not None:
                    return rate
        return None

    def content_signals(self, user_agent: str, url: str | None = None) -> dict[str, str]:
        """``Content-Signal`` and ``Content-Usage`` values for the group used.

        Lines before any user-agent line apply to every crawler; the group's
        own lines override them. Lines scoped to a path apply only when
        ``url`` is under it.
        """
        lines = list(self._parsed.signals)
        selection = self._select(user_agent)
        if selection is not None:
            for number in selection.groups:
                lines.extend(self._parsed.groups[number].signals)
        return merge_signals(lines, request_path(url) if url is not None else None)

    def content_signal_sources(
        self, user_agent: str, url: str | None = None
    ) -> list[tuple[str, str, int]]:
        """As :meth:`content_signals`, as (label, value, line), with contentsignals.org's
        yes/no values and aipref's kept apart (see ``merge_signal_sources``)."""
        lines = list(self._parsed.signals)
        selection = self._select(user_agent)
        if selection is not None:
            for number in selection.groups:
                lines.extend(self._parsed.groups[number].signals)
        if not lines:
            return []  # most files say nothing of AI use: no path to work out
        return merge_signal_sources(lines, request_path(url) if url is not None else None)

    @property
    def licences(self) -> tuple[tuple[int, str], ...]:
        """RSL ``License:`` lines as (line, URL as written), in file order, whatever group
        they are in (RSL 1.0 §5.1: a licence is declared for the site)."""
        found = self._licences
        if found is None:
            lines = []
            for line, text in self._parsed.unknown:
                key, sep, value = text.partition(":")
                if sep and key.strip().lower() in ("license", "licence") and value.strip():
                    lines.append((line, value.strip()))
            found = self._licences = tuple(lines)
        return found

    def __repr__(self) -> str:
        return f"<RobotsTxt groups={len(self._parsed.groups)} fingerprint={self._fingerprint[:12]}>"


def is_allowed(robots_txt: str | bytes | RobotsTxt, user_agent: str, url: str) -> bool:
    """One-shot check; parse once with :meth:`RobotsTxt.parse` when asking often."""
    robots = robots_txt if isinstance(robots_txt, RobotsTxt) else RobotsTxt.parse(robots_txt)
    return robots.allows(url, user_agent)
