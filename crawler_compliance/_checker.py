"""The decision core: run every check in order and return one Decision.

Order (the mission's): the URL itself (fetchable, unambiguous host), the
cease-and-desist registry, legal's site records and terms, then robots.txt
and purpose-specific opt-outs. No I/O happens here: adapters fetch
robots.txt and hand the result in, so every rule runs in microseconds and is
testable without a network.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawler_compliance._decision import Check, Decision, Outcome, Reason, decide
from crawler_compliance._hosts import (
    CanonicalURL,
    UnfetchableURL,
    canonicalize,
    path_candidates,
)
from crawler_compliance._policy_audit import redact_params
from crawler_compliance._purpose import AI_PURPOSES, parse_purpose
from crawler_compliance._registry import Registry
from crawler_compliance._sites import SiteRules
from crawler_compliance.audit._redact import Redactor
from crawler_compliance.robots import RobotsMatch, RobotsResult, RobotsTxt
from crawler_compliance.signals import OptOuts, Signal
from crawler_compliance.terms._page import TermsPage

if TYPE_CHECKING:
    from crawler_compliance.policy import Policy

__all__ = ["AI_TRAINING_AGENTS", "ComplianceChecker", "PreCheck"]

# Product tokens whose robots.txt groups sites use to opt out of AI training.
# A site that disallows one of them (in a group naming it, not via "*") has
# said "not for training", which binds a crawl declaring that purpose.
AI_TRAINING_AGENTS = (
    "GPTBot",
    "Google-Extended",
    "CCBot",
    "ClaudeBot",
    "anthropic-ai",
    "Applebot-Extended",
    "meta-externalagent",
    "Bytespider",
)
AI_TRAINING_PURPOSE = "ai-training"


_HOST_MEMO_SIZE = 8192
# (scheme, host, is_ip, other hosts named, day): what registry reasons depend on.
_HostKey = tuple[str, str, bool, tuple[str, ...], dt.date]


@dataclass(frozen=True)
class PreCheck:
    """Checks that need no network: the canonical URL and their reasons.

    ``needs_robots`` is false when the request is already settled (a deny, or
    an explicit permission from legal). ``signals_only``: a permission settles
    the robots.txt rules, but robots.txt is still read for the AI opt-outs in
    it (Content-Signal / Content-Usage), which only an override naming them lifts.
    """

    canonical: CanonicalURL | None
    registrable_domain: str | None
    reasons: tuple[Reason, ...]
    needs_robots: bool
    signals_only: bool = False

    @property
    def denied(self) -> bool:
        return any(r.outcome is Outcome.DENY for r in self.reasons)


class ComplianceChecker:
    """Answer "may we fetch this URL?" from one loaded policy.

    Built once per crawl (or CLI run); ``decide`` is called per request.

    ``redactor`` redacts every URL and path before a reason message is built
    from it; pass the audit log's (``AuditLog.redactor``) so messages and
    records show the same tokens. Without one, the policy's parameter list is
    used with a random key for this checker: tokens are stable within the run
    and cannot be tested against guesses.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        registry: Registry | None = None,
        user_agent: str | None = None,
        purpose: str | None = None,
        clock: Callable[[], float] = time.time,
        suffix_list_file: str | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.policy = policy
        self.redactor = redactor or Redactor(redact_params(policy), os.urandom(32))
        config = policy.config
        self.registry = registry or Registry.from_policy(policy, suffix_list_file=suffix_list_file)
        self.sites = SiteRules(
            policy.sites,
            unreviewed=config.terms.unreviewed,
            changed=config.terms.changed,
            on_unreachable=config.terms.on_unreachable,
            max_review_age=config.terms.max_review_age,
            snapshots=getattr(policy, "terms_snapshots", None),
        )
        self.user_agent = user_agent or config.crawler.product_token
        self.purpose = parse_purpose(purpose or config.crawler.purpose)
        self.ai_opt_out = bool(config.robots.ai_training_opt_out)
        self.clock = clock
        self._policy_fingerprint = str(policy.fingerprint)
        self._day: tuple[float, float, dt.date] = (0.0, 0.0, dt.date.min)
        self.opt_outs = OptOuts.from_checker(self)
        self._host_memo: dict[_HostKey, tuple[tuple[Reason, ...], str | None]] = {}
        self._ai_named: dict[str, tuple[str, ...]] = {}
        self._allow_reasons: dict[tuple[object, ...], Reason] = {}

    @property
    def policy_fingerprint(self) -> str:
        return self._policy_fingerprint

    def today(self) -> dt.date:
        """Today's UTC date (notices and permissions start and end on dates)."""
        now = self.clock()
        start, end, today = self._day
        if not start <= now < end:
            today = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc).date()
            start = dt.datetime.combine(today, dt.time(), tzinfo=dt.timezone.utc).timestamp()
            self._day = (start, start + 86400, today)
        return today

    _today = today  # the name the core used before it was public

    def _registry_reasons(self, canonical: CanonicalURL, today: dt.date) -> list[Reason]:
        reasons = []
        for hit in self.registry.match(canonical.host, is_ip=canonical.is_ip, on=today):
            if not hit.active:
                continue
            reasons.append(
                Reason(
                    Check.REGISTRY,
                    Outcome.DENY,
                    f"{canonical.host} is covered by cease-and-desist notice {hit.notice_id!r} "
                    f"from {hit.issuer} (scope {hit.scope_label!r}, matched {hit.matched!r})",
                    rule=hit.notice_id,
                    source=str(hit.source),
                    line=hit.line,
                    extra=(
                        ("notice", hit.notice_id),
                        ("issuer", hit.issuer),
                        ("scope", hit.scope_label),
                        ("matched", hit.matched),
                    ),
                )
            )
        return reasons

    def pre_robots(
        self,
        url: str,
        *,
        extra_hosts: Iterable[str] = (),
        terms_fingerprints: Mapping[str, str | TermsPage] | None = None,
        scrapy_safe: bool = False,
    ) -> PreCheck:
        """URL, registry, site and terms checks: everything that needs no fetch.

        ``extra_hosts`` are further hosts the request names (a ``Host``
        header, a proxy): each is decided by the registry too, and any match
        denies.
        ``scrapy_safe``: *url* is a ``scrapy.Request.url`` (see ``canonicalize``).
        """
        try:
            canonical = canonicalize(url, scrapy_safe=scrapy_safe)
        except UnfetchableURL as exc:
            check_reason = Reason(Check.URL, Outcome.DENY, f"{exc.kind} URL: {exc}")
            return PreCheck(None, None, (check_reason,), needs_robots=False)
        today = self._today()
        reasons, registrable = self.host_facts(canonical, tuple(extra_hosts), today)
        if reasons:
            return PreCheck(canonical, registrable, reasons, needs_robots=False)
        outcome = self.sites.evaluate(
            canonical.host,
            canonical.path,
            purpose=self.purpose,
            on=today,
            terms_fingerprints=terms_fingerprints,
        )
        if outcome.settled and self._permission_needs_signals(canonical, outcome.reasons):
            return PreCheck(
                canonical, registrable, outcome.reasons, needs_robots=True, signals_only=True
            )
        return PreCheck(canonical, registrable, outcome.reasons, needs_robots=not outcome.settled)

    def _permission_needs_signals(
        self, canonical: CanonicalURL, reasons: tuple[Reason, ...]
    ) -> bool:
        """Under a permission, an AI crawl still reads robots.txt's AI opt-outs unless the
        agreement overrides both of them (see ``signals.OptOuts``)."""
        if self.purpose not in AI_PURPOSES or not self.ai_opt_out:
            return False
        if any(r.outcome is Outcome.DENY for r in reasons):
            return False
        lifted = {o.signal for o in self.opt_outs.overrides_for(canonical.url)}
        return not {Signal.CONTENT_SIGNAL, Signal.CONTENT_USAGE} <= lifted

    def host_facts(
        self, canonical: CanonicalURL, extra_hosts: tuple[str, ...], today: dt.date
    ) -> tuple[tuple[Reason, ...], str | None]:
        """Registry reasons and registrable domain: the same for every URL of a host.

        Memoised per (host, other hosts named, day): a crawl asks about few
        hosts many times, and the policy does not change under a checker.
        """
        key = (canonical.scheme, canonical.host, canonical.is_ip, extra_hosts, today)
        facts = self._host_memo.get(key)
        if facts is not None:
            return facts
        reasons = self._registry_reasons(canonical, today)
        for extra in extra_hosts:
            try:
                other = canonicalize(f"{canonical.scheme}://{extra}/")
            except UnfetchableURL as exc:
                reasons.append(
                    Reason(Check.URL, Outcome.DENY, f"{extra!r} (Host header or proxy): {exc}")
                )
                continue
            if other.host != canonical.host:
                reasons.extend(self._registry_reasons(other, today))
        registrable = self.registry.registrable_domain(canonical.host, is_ip=canonical.is_ip)
        facts = (tuple(reasons), registrable)
        if len(self._host_memo) >= _HOST_MEMO_SIZE:
            self._host_memo.clear()
        self._host_memo[key] = facts
        return facts

    def robots_reasons(
        self, canonical: CanonicalURL, robots: RobotsResult, source: str | None = None
    ) -> list[Reason]:
        """The robots.txt verdict for the URL, plus AI-training opt-outs when they apply.

        A server may decode and resolve the path before serving it
        (``/x/..%2Fprivate`` is ``/private``): every path it could serve must
        be allowed, and an opt-out that covers any of them binds.
        """
        # The URL as sent, then the same URL with each other path a server could serve.
        candidates = path_candidates(canonical.path)
        if len(candidates) == 1:
            urls = [canonical.url]
        else:
            parts = urlsplit(canonical.url)
            urls = [canonical.url, *(parts._replace(path=c).geturl() for c in candidates[1:])]
        if source is None:
            source = canonical.robots_url
        parsed = robots.robots
        reason = None
        if parsed is not None and len(urls) == 1:
            # The common case: an allow already given by the same rule.
            allowing = parsed.allowing(urls[0], self.user_agent)
            if allowing is not None:
                reason = self._allow_reasons.get(_allow_key(source, robots, *allowing, None))
        if reason is None:
            match = robots.explain(urls[0], self.user_agent)
            for other_url in urls[1:]:
                if not match.allowed:
                    break
                match = robots.explain(other_url, self.user_agent)
            reason = self._robots_verdict(match, robots, source)
        reasons = [reason]
        if parsed is None:
            return reasons
        if parsed.has_signals:
            signals = self._content_signals(urls[0], parsed, source)
            for url in urls[1:]:
                if any(r.outcome is Outcome.DENY for r in signals):
                    break
                other = self._content_signals(url, parsed, source)
                if any(r.outcome is Outcome.DENY for r in other):
                    signals = other
            reasons.extend(signals)
        if self.purpose == AI_TRAINING_PURPOSE and self.ai_opt_out:
            for url in urls:
                opt_outs = self._ai_agent_opt_outs(url, parsed, source)
                if opt_outs:
                    reasons.extend(opt_outs)
                    break
        return reasons

    def _robots_verdict(self, match: RobotsMatch, robots: RobotsResult, source: str) -> Reason:
        """The robots.txt reason; an allow is the same for every path it covers.

        A deny quotes the (redacted) path it was decided on, which may be a
        path the server resolves the URL to. An allow does not (the record's
        ``url`` names the URL, and every path it could resolve to was
        allowed), so one reason object serves every URL a rule allows: the
        audit log encodes it once, not per request.
        """
        if not match.allowed:
            return self._robots_reason(match, robots, source, self._robots_message(match, robots))
        # What an allow's text depends on (the fetch reason names no path, see below).
        text = match.reason if match.line is None and match.group is None else None
        key = _allow_key(source, robots, match.line, match.rule, match.group, text)
        reason = self._allow_reasons.get(key)
        if reason is None:
            if text is not None:
                message = self.redactor.text(text)
            elif match.line is None:
                agents = ", ".join(match.group or ())
                message = f"no rule in the group for {agents} matches: allowed"
            else:
                message = f"line {match.line} allows this URL (longest matching rule)"
            reason = self._robots_reason(match, robots, source, message)
            if len(self._allow_reasons) >= _HOST_MEMO_SIZE:
                self._allow_reasons.clear()
            self._allow_reasons[key] = reason
        return reason

    @staticmethod
    def _robots_reason(
        match: RobotsMatch, robots: RobotsResult, source: str, message: str
    ) -> Reason:
        return Reason(
            Check.ROBOTS,
            Outcome.ALLOW if match.allowed else Outcome.DENY,
            message,
            rule=match.rule,
            source=source,
            line=match.line,
            extra=(("robots_status", robots.status),),
        )

    def _robots_message(self, match: RobotsMatch, robots: RobotsResult) -> str:
        """The robots.txt verdict in words, built from the *redacted* path.

        ``RobotsMatch.reason`` quotes the request path and query as matched
        (a secret in the query included), so it is not used as it is.
        """
        if match.line is None and match.group is None:
            # No request path in it (allow-all, disallow-all, /robots.txt, no group), but
            # a fetch reason may name a redirect hop's URL: redacted like any URL.
            return self.redactor.text(match.reason)
        path = match.path if match.path is not None else ""
        shown = self.redactor.url(path)
        if match.line is None:
            agents = ", ".join(match.group or ())
            return f"no rule in the group for {agents} matches {shown}: allowed"
        verb = "allows" if match.allowed else "disallows"
        return f"line {match.line} {verb} {shown} (longest matching rule)"

    def redirected_from(self, url: str) -> Reason:
        """The "redirected from" context reason, with *url* redacted first."""
        shown = self.redactor.url(url)
        return Reason(Check.URL, Outcome.INFO, f"redirected from {shown}")

    def _content_signals(self, url: str, parsed: RobotsTxt, source: str) -> list[Reason]:
        """Content-Signal / Content-Usage lines, through the one purpose table
        (``crawler_compliance.signals``): each binds the purposes it names; the
        rest are recorded as information so the audit log shows what the site said."""
        return self.opt_outs.robots_reasons(url, parsed, source)

    def _signals_only_reasons(self, canonical: CanonicalURL, robots: RobotsResult) -> list[Reason]:
        """Under a permission: robots.txt's AI opt-outs only, not its rules."""
        source = canonical.robots_url
        if robots.robots is not None:
            return self._content_signals(canonical.url, robots.robots, source)
        if robots.kind == "disallow-all":
            return [
                Reason(
                    Check.ROBOTS,
                    Outcome.DENY,
                    f"robots.txt could not be read ({robots.status}), so its AI opt-outs are "
                    "unknown; the site permission does not override them: fail closed",
                    source=source,
                    extra=(("robots_status", robots.status),),
                )
            ]
        return []

    def _named_ai_agents(self, parsed: RobotsTxt) -> tuple[str, ...]:
        """The AI-training crawlers this robots.txt addresses by name (not via ``*``).

        Depends only on the file, so it is worked out once per file body.
        """
        key = parsed.fingerprint
        named = self._ai_named.get(key)
        if named is None:
            named = tuple(
                agent
                for agent in AI_TRAINING_AGENTS
                if (group := parsed.explain("http://robots.invalid/", agent).group)
                and "*" not in group
            )
            if len(self._ai_named) >= _HOST_MEMO_SIZE:
                self._ai_named.clear()
            self._ai_named[key] = named
        return named

    def _ai_agent_opt_outs(self, url: str, parsed: RobotsTxt, source: str) -> list[Reason]:
        for agent in self._named_ai_agents(parsed):
            match = parsed.explain(url, agent)
            if not match.allowed:
                return [
                    Reason(
                        Check.ROBOTS,
                        Outcome.DENY,
                        f"robots.txt disallows the AI-training crawler {agent} here, "
                        f"and this crawl's purpose is {self.purpose}",
                        rule=match.rule,
                        source=source,
                        line=match.line,
                    )
                ]
        return []

    def decide(
        self,
        url: str,
        robots: RobotsResult | None = None,
        *,
        offline: bool = False,
        pre: PreCheck | None = None,
        extra_hosts: Iterable[str] = (),
        context: Iterable[Reason] = (),
    ) -> Decision:
        """The full decision for *url*.

        *robots* is a ``RobotsResult`` for the URL's origin. When robots.txt is
        needed but absent, the decision is a deny unless *offline* is set, in
        which case the output says the robots.txt check was not run.
        *context* reasons (e.g. "redirected from ...") are recorded first.
        """
        if pre is None:
            pre = self.pre_robots(url, extra_hosts=extra_hosts)
        reasons, robots_status, robots_fingerprint = self.all_reasons(
            pre, robots, offline=offline, context=context
        )
        canonical = pre.canonical
        return decide(
            url,
            reasons,
            host=canonical.host if canonical else None,
            registrable_domain=pre.registrable_domain,
            offline=offline,
            robots_status=robots_status,
            robots_fingerprint=robots_fingerprint,
        )

    def all_reasons(
        self,
        pre: PreCheck,
        robots: RobotsResult | None,
        *,
        offline: bool = False,
        context: Iterable[Reason] = (),
    ) -> tuple[list[Reason], str | None, str | None]:
        """Every reason for a pre-checked URL: (reasons, robots status, robots fingerprint)."""
        reasons = [*context, *pre.reasons]
        robots_status = robots_fingerprint = None
        if pre.needs_robots and pre.canonical is not None:
            if robots is not None and pre.signals_only:
                reasons.extend(self._signals_only_reasons(pre.canonical, robots))
                robots_status, robots_fingerprint = robots.status, robots.fingerprint
            elif robots is not None:
                reasons.extend(self.robots_reasons(pre.canonical, robots))
                robots_status, robots_fingerprint = robots.status, robots.fingerprint
            elif offline:
                reasons.append(
                    Reason(Check.ROBOTS, Outcome.INFO, "robots.txt not checked (offline mode)")
                )
            else:
                reasons.append(
                    Reason(
                        Check.ROBOTS, Outcome.DENY, "no robots.txt verdict available: fail closed"
                    )
                )
        return reasons, robots_status, robots_fingerprint

    def registry_reasons(
        self, url: str, *, extra_hosts: Iterable[str] = (), scrapy_safe: bool = False
    ) -> tuple[CanonicalURL | None, str | None, tuple[Reason, ...]]:
        """Only the URL and registry checks (no site records, no robots.txt).

        Returns the canonical URL (``None`` when it is unfetchable), its
        registrable domain and the reasons, all denying.
        """
        try:
            canonical = canonicalize(url, scrapy_safe=scrapy_safe)
        except UnfetchableURL as exc:
            return None, None, (Reason(Check.URL, Outcome.DENY, f"{exc.kind} URL: {exc}"),)
        reasons, registrable = self.host_facts(canonical, tuple(extra_hosts), self._today())
        return canonical, registrable, reasons

    def decide_own_fetch(self, url: str, *, scrapy_safe: bool = False) -> Decision:
        """Decide one of our own robots.txt fetches (or a redirect hop of one).

        Only the URL and registry checks apply: site records and robots.txt
        govern pages, not the act of reading robots.txt, but nothing is ever
        fetched from a host under a cease-and-desist notice.
        """
        canonical, registrable, reasons = self.registry_reasons(url, scrapy_safe=scrapy_safe)
        return decide(
            url,
            [
                *reasons,
                Reason(Check.ROBOTS, Outcome.INFO, "robots.txt fetch by crawler-compliance"),
            ],
            host=canonical.host if canonical else None,
            registrable_domain=registrable,
        )

    def internal_error(self, url: str, exc: BaseException) -> Decision:
        """Fail closed: a bug or unexpected failure denies the request."""
        return decide(
            url,
            [Reason(Check.INTERNAL, Outcome.DENY, f"internal error: {type(exc).__name__}: {exc}")],
        )


def _allow_key(
    source: str,
    robots: RobotsResult,
    line: int | None,
    rule: str | None,
    group: tuple[str, ...] | None,
    text: str | None,
) -> tuple[object, ...]:
    """What a robots.txt allow's reason depends on: one key, for the lookup by rule
    (``RobotsTxt.allowing``) and for the one from a full match."""
    return (source, robots.status, line, rule, group, text)
