"""W3C TDMRep (TDM Reservation Protocol, Final Community Group Report 2024-05-10).

Three carriers state whether text-and-data-mining rights are reserved
(DSM Directive art. 4(3)): ``/.well-known/tdmrep.json`` (an array of rules,
each ``location`` pattern with ``tdm-reservation`` 0 or 1 and an optional
``tdm-policy`` URL; the first rule in sequence whose location matches is the
most specific one and is used), the ``tdm-reservation`` / ``tdm-policy``
response headers, and the same names as HTML ``<meta>`` tags. Meta tags take
precedence over headers, headers over the file.

What the fetch outcome of tdmrep.json means (our rule; the spec lets a
protocol error fall back to "unset", which would turn an unreadable
reservation into none, so we fail closed for the purposes TDM covers):

* 2xx with a valid array: its rules. A 2xx HTML page that is not JSON (a
  "soft 404": the site answers every path with a page) is no file.
* 404, 410 and other 4xx: no file, so no reservation from the file.
* 401, 403, 407, 429, 5xx, 3xx left unresolved, timeouts, network errors,
  a body over :data:`MAX_BYTES`, undecodable or malformed JSON, a top level
  that is not an array: **unreadable** — TDM purposes are refused, others
  get an information reason.
* A rule that is not an object, has no usable ``location`` or an invalid
  ``tdm-reservation`` is unreadable *for the URLs it could cover*: rules
  before it still decide the URLs they match, since the first match wins.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler_compliance.robots import path_pattern, url_path
from crawler_compliance.signals._table import TDM_PURPOSES, Finding, Signal

__all__ = [
    "MAX_BYTES",
    "TdmRepFile",
    "TdmRule",
    "TdmState",
    "parse_reservation",
    "fetch_error_text",
    "tdmrep_from_fetch",
    "tdmrep_from_fetched",
    "tdmrep_url",
]

MAX_BYTES = 512 * 1024  # a site-wide rule list is a few hundred bytes; 2 MB is hostile
MAX_RULES = 10_000
WELL_KNOWN = "/.well-known/tdmrep.json"
_UNREADABLE_STATUS = frozenset({401, 403, 407, 429})


class TdmState(str, enum.Enum):
    RULES = "rules"
    ABSENT = "absent"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class TdmRule:
    """One entry of tdmrep.json (``index`` is 1-based, as people count)."""

    index: int
    location: str | None
    reservation: int | None
    policy: str | None
    problem: str | None = None
    matches: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)


def tdmrep_url(origin_url: str) -> str:
    """``https://e.com/a/b`` -> ``https://e.com/.well-known/tdmrep.json``."""
    from urllib.parse import urlsplit

    parts = urlsplit(origin_url)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}"


def parse_reservation(value: object) -> int | None:
    """0 or 1 (also written as text, as headers and meta tags carry it); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


def _rule(index: int, entry: object) -> TdmRule:
    if not isinstance(entry, dict):
        return TdmRule(index, None, None, None, f"rule {index} is not an object")
    location = entry.get("location")
    if not isinstance(location, str) or not location.strip():
        return TdmRule(index, None, None, None, f"rule {index} has no location pattern")
    location = location.strip()
    if not location.startswith(("/", "*")):
        return TdmRule(
            index, location, None, None, f"rule {index}: location {location!r} is not a path"
        )
    matches = path_pattern(location)
    reservation = parse_reservation(entry.get("tdm-reservation"))
    policy = entry.get("tdm-policy")
    policy = policy.strip() if isinstance(policy, str) and policy.strip() else None
    if reservation is None:
        return TdmRule(
            index,
            location,
            None,
            policy,
            f"rule {index}: tdm-reservation {entry.get('tdm-reservation')!r} is not 0 or 1",
            matches,
        )
    return TdmRule(index, location, reservation, policy, None, matches)


@dataclass(frozen=True)
class TdmRepFile:
    """What tdmrep.json says for an origin, or why it cannot be read."""

    url: str
    state: TdmState
    status: str  # short text for the audit log: "200", "404", "timeout", ...
    rules: tuple[TdmRule, ...] = ()
    problem: str | None = None

    @classmethod
    def parse(cls, url: str, body: bytes, *, status: str = "200") -> TdmRepFile:
        """Parse a 2xx body; anything wrong makes the file unreadable, never empty."""

        def bad(problem: str) -> TdmRepFile:
            return cls(url, TdmState.UNREADABLE, status, problem=problem)

        if len(body) > MAX_BYTES:
            return bad(f"tdmrep.json is larger than {MAX_BYTES // 1024} KiB")
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return bad("tdmrep.json is not UTF-8 text")
        except (ValueError, RecursionError) as exc:
            return bad(f"tdmrep.json is not valid JSON ({str(exc)[:80]})")
        if not isinstance(data, list):
            return bad(f"tdmrep.json must be an array of rules, found {type(data).__name__}")
        if len(data) > MAX_RULES:
            return bad(f"tdmrep.json has more than {MAX_RULES} rules")
        rules = tuple(_rule(n, entry) for n, entry in enumerate(data, 1))
        return cls(url, TdmState.RULES, status, rules)

    def lookup(self, url: str) -> tuple[TdmRule | None, str | None]:
        """The first rule matching *url*, or the problem that stops us knowing."""
        if self.state is TdmState.UNREADABLE:
            return None, self.problem
        path = url_path(url)
        for rule in self.rules:
            if rule.matches is None:
                return None, rule.problem  # cannot tell whether it covers the URL
            if rule.matches(path):
                return (None, rule.problem) if rule.problem else (rule, None)
        return None, None

    def findings(self, url: str) -> list[Finding]:
        where = "tdmrep.json"
        if self.state is TdmState.ABSENT:
            return []  # no file says nothing: nothing to record on every page
        rule, problem = self.lookup(url)
        if problem is not None:
            return [
                Finding(
                    Signal.TDMREP,
                    "tdm-reservation unreadable",
                    where,
                    TDM_PURPOSES,
                    source=self.url,
                    detail=f"{problem} (fetch {self.status}): fail closed",
                )
            ]
        if rule is None:
            return [
                Finding(Signal.TDMREP, "no rule for this URL", where, frozenset(), source=self.url)
            ]
        return [
            _reservation_finding(
                rule.reservation,
                rule.policy,
                f"{where} rule {rule.index}",
                self.url,
                location=rule.location,
            )
        ]


def _reservation_finding(
    reservation: int | None,
    policy: str | None,
    where: str,
    source: str | None,
    *,
    location: str | None = None,
) -> Finding:
    detail = f"location {location!r}" if location else ""
    if reservation == 1 and policy:
        detail = f"{detail}; tdm-policy {policy}" if detail else f"tdm-policy {policy}"
    return Finding(
        Signal.TDMREP,
        f"tdm-reservation={reservation}",
        where,
        TDM_PURPOSES if reservation == 1 else frozenset(),
        source=source,
        detail=detail,
    )


def tdmrep_from_fetch(
    url: str,
    *,
    status: int | None,
    body: bytes = b"",
    error: str | None = None,
    content_type: str | None = None,
) -> TdmRepFile:
    """The fetch outcome of tdmrep.json as a :class:`TdmRepFile` (see the module rules).

    ``error`` names a failure that produced no usable response ("timeout",
    "dns", "too-large", ...); it always makes the file unreadable.
    """
    if error is not None or status is None:
        text = error or "no response"
        return TdmRepFile(url, TdmState.UNREADABLE, text, problem=f"tdmrep.json fetch: {text}")
    text = str(status)
    if 200 <= status < 300:
        parsed = TdmRepFile.parse(url, body, status=text)
        if (
            parsed.state is TdmState.UNREADABLE
            and _is_html(content_type)
            and len(body) <= MAX_BYTES
        ):
            # A "soft 404": the site answers every path with an HTML page. That is
            # no tdmrep.json at all (a JSON body served as HTML is still read).
            return TdmRepFile(url, TdmState.ABSENT, f"{text}, an HTML page")
        return parsed
    if status in _UNREADABLE_STATUS or status >= 500 or status < 200 or 300 <= status < 400:
        return TdmRepFile(url, TdmState.UNREADABLE, text, problem=f"tdmrep.json answered {status}")
    return TdmRepFile(url, TdmState.ABSENT, text)


def _is_html(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def fetch_error_text(fetched: Any) -> str | None:
    """A fetch error (an enum from the adapter's fetcher, or text) as short text."""
    error = getattr(fetched, "error", None)
    if error is None:
        return None
    return str(getattr(error, "value", error))


def tdmrep_from_fetched(fetched: Any) -> TdmRepFile:
    """:func:`tdmrep_from_fetch` from an adapter's fetch result (``url``, ``status``,
    ``body``, ``error``), e.g. the engine fetcher's ``FetchedFile``."""
    return tdmrep_from_fetch(
        str(fetched.url),
        status=fetched.status,
        body=bytes(fetched.body or b""),
        error=fetch_error_text(fetched),
        content_type=(getattr(fetched, "headers", None) or {}).get("content-type"),
    )


def page_findings(
    headers: Mapping[str, Iterable[str]],
    metas: Iterable[tuple[str, str]],
    *,
    source: str,
) -> list[Finding]:
    """TDMRep on a fetched page: meta tags over headers (the file was applied before the fetch).

    Returns at most one reservation finding, from the carrier that wins; a
    present but invalid value is unreadable (fail closed for TDM purposes).
    """
    meta_res = [v for name, v in metas if name == "tdm-reservation"]
    meta_pol = [v for name, v in metas if name == "tdm-policy"]
    head_res = list(headers.get("tdm-reservation", ()))
    head_pol = list(headers.get("tdm-policy", ()))
    for values, policies, where in (
        (meta_res, meta_pol, '<meta name="tdm-reservation">'),
        (head_res, head_pol, "tdm-reservation header"),
    ):
        if not values:
            continue
        parsed = {parse_reservation(v) for v in values}
        if None in parsed or len(parsed) > 1:
            shown = ", ".join(repr(v) for v in values)
            return [
                Finding(
                    Signal.TDMREP,
                    "tdm-reservation unreadable",
                    where,
                    TDM_PURPOSES,
                    source=source,
                    detail=f"value {shown} is not one 0 or 1: fail closed",
                )
            ]
        (reservation,) = parsed
        policy = policies[0].strip() if policies and policies[0].strip() else None
        return [_reservation_finding(reservation, policy, where, source)]
    return []
