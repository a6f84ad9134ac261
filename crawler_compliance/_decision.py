"""The decision and its reasons: plain data shared by every check and adapter.

A decision is data, not a string, so the audit log, the CLI, the Scrapy
middleware and the pytest plugin all render the same facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from crawler_compliance._frozen import new_object, set_attribute


class Verdict(str, enum.Enum):
    ALLOW = "allow"
    DENY = "deny"


class Outcome(str, enum.Enum):
    """What one reason says. Only :attr:`DENY` denies; a misspelt outcome fails
    at construction (``Outcome("Deny")`` raises), it never falls through to allow."""

    DENY = "deny"
    ALLOW = "allow"
    INFO = "info"


class RecordKind(str, enum.Enum):
    """What a decision was about; the report keeps these apart."""

    PAGE = "page"  # a request the crawl (or a CLI/plugin user) makes
    OWN_FETCH = "own-fetch"  # our own fetch of a per-site file (robots.txt, terms, ...)
    GUARD = "guard"  # the last check before download found a change since the decision
    RESPONSE = "response"  # a decision taken after the fetch (signals in the response)
    SUBRESOURCE = "subresource"  # a request a rendering browser makes for an allowed page
    CONTROL = "control"  # about the crawl itself (checks switched off, ...)


class Check(str, enum.Enum):
    """Which check produced a reason, in the order they run."""

    URL = "url"  # the URL itself: not fetchable, ambiguous host
    REGISTRY = "registry"  # cease-and-desist notices
    SITE = "site"  # legal's per-site records: blocks, permissions
    TERMS = "terms"  # terms-of-service review state
    ROBOTS = "robots"  # robots.txt (RFC 9309) and purpose-specific opt-outs
    OPT_OUT = "opt-out"  # TDMRep, RSL licences, X-Robots-Tag, meta tags, Content-Usage header
    POLICY = "policy"  # the policy could not be loaded
    INTERNAL = "internal-error"  # a bug or unexpected failure: fail closed


@dataclass(frozen=True)
class Reason:
    """One fact that contributed to a decision.

    ``outcome`` is an :class:`Outcome` (a plain string is converted, and an
    unknown one raises ``ValueError``); a decision is a deny
    as soon as one reason denies. ``rule`` names what matched (a notice id, a
    site record id, a robots.txt line's text); ``source`` and ``line`` locate
    it (a policy file, or the robots.txt URL and line number).
    """

    check: Check
    outcome: Outcome
    message: str
    rule: str | None = None
    source: str | None = None
    line: int | None = None
    extra: tuple[tuple[str, object], ...] = ()  # JSON-like values, written as given

    def __post_init__(self) -> None:
        # Typed vocabulary: Reason(check, "Deny", ...) must fail, never allow.
        if not isinstance(self.outcome, Outcome):
            object.__setattr__(self, "outcome", Outcome(self.outcome))
        if not isinstance(self.check, Check):
            object.__setattr__(self, "check", Check(self.check))

    def __hash__(self) -> int:
        # The audit writer looks every reason up by value; an enum's hash is
        # Python code, so the field hash is worked out once per object.
        cached = self.__dict__.get("_hash")
        if cached is None:
            fields = (self.check, self.outcome, self.message, self.rule, self.source)
            cached = hash((*fields, self.line, self.extra))
            self.__dict__["_hash"] = cached
        return cached

    def __getstate__(self) -> dict[str, Any]:
        # String hashes differ between processes: never carry the cached one.
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check.value,
            "outcome": self.outcome.value,
            "message": self.message,
        }
        if self.rule is not None:
            data["rule"] = self.rule
        if self.source is not None:
            data["source"] = self.source
        if self.line is not None:
            data["line"] = self.line
        for key, value in self.extra:
            data[key] = value
        return data

    def __str__(self) -> str:
        where = ""
        if self.source:
            where = f" ({self.source}{':' + str(self.line) if self.line else ''})"
        return f"{self.check.value}: {self.message}{where}"


@dataclass(frozen=True)
class Decision:
    """The answer to "may we fetch this URL?" with every reason behind it."""

    url: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    host: str | None = None
    registrable_domain: str | None = None
    offline: bool = False
    robots_fingerprint: str | None = None
    robots_status: str | None = None
    kind: RecordKind = RecordKind.PAGE
    vhost: str | None = None  # the Host header's host, when it is not the URL's
    proxy: str | None = None  # the proxy's host:port (never its credentials)
    page: str | None = None  # for a subresource: the page it belongs to

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @property
    def denying_reasons(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.outcome is Outcome.DENY)

    @property
    def deciding_check(self) -> Check | None:
        """The check of the first denying reason (``None`` when allowed)."""
        denying = self.denying_reasons
        return denying[0].check if denying else None

    def summary(self) -> str:
        denying = self.denying_reasons
        if denying:
            return "; ".join(str(r) for r in denying)
        return "; ".join(str(r) for r in self.reasons) or "allowed"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": self.url,
            "verdict": self.verdict.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "host": self.host,
            "registrable_domain": self.registrable_domain,
        }
        if self.offline:
            data["offline"] = True
        if self.robots_status is not None:
            data["robots_status"] = self.robots_status
        if self.robots_fingerprint is not None:
            data["robots_fingerprint"] = self.robots_fingerprint
        data["kind"] = self.kind.value
        for key in ("vhost", "proxy", "page"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


def decide(
    url: str,
    reasons: list[Reason] | tuple[Reason, ...],
    *,
    host: str | None = None,
    registrable_domain: str | None = None,
    offline: bool = False,
    robots_fingerprint: str | None = None,
    robots_status: str | None = None,
    kind: RecordKind = RecordKind.PAGE,
    vhost: str | None = None,
    proxy: str | None = None,
    page: str | None = None,
) -> Decision:
    """Build a decision: deny when any reason denies.

    Callers always include the reason of every check that ran; a decision
    with no reasons at all is an allow only because nothing objected.
    """
    verdict = Verdict.ALLOW
    for reason in reasons:
        if reason.outcome is Outcome.DENY:
            verdict = Verdict.DENY
            break
    decision = new_object(Decision)  # filled(Decision, {...}), in line
    set_attribute(
        decision,
        "__dict__",
        {
            "url": url,
            "verdict": verdict,
            "reasons": tuple(reasons),
            "host": host,
            "registrable_domain": registrable_domain,
            "offline": offline,
            "robots_fingerprint": robots_fingerprint,
            "robots_status": robots_status,
            "kind": kind,
            "vhost": vhost,
            "proxy": proxy,
            "page": page,
        },
    )
    return decision
