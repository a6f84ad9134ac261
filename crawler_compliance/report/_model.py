"""What an audit log says, counted: the report model behind the text and HTML renderers.

Records are sorted into what they are (field ``kind`` when the writer sets it;
for older logs, inferred):

- **page** decisions: the requests the crawl wanted to make;
- the tool's **own fetches** (robots.txt, terms pages, well-known files),
  recognised by ``kind == "own-fetch"`` or, in older logs, by the
  "... fetch by crawler-compliance" reason;
- **robots.txt requests of the spider or of Scrapy's RobotsTxtMiddleware**
  (``ROBOTSTXT_OBEY`` left on): page decisions for a ``/robots.txt`` URL;
- **control** records, such as a crawl that ran with the checks switched
  off (never counted as an allow);
- other kinds (guard, response, subresource) counted apart.

Nothing here renders; every value from the log stays as it was (the
renderers escape it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

PAGE, OWN_FETCH, SCRAPY_ROBOTS, CONTROL = "page", "own-fetch", "scrapy-robots", "control"
_NO_RUN = "(no run id)"


def text(value: Any) -> str:
    """A record value as one line of text ('' for null; other JSON values as JSON)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        return "<unprintable>"


def reasons(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = record.get("reasons")
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def classify(record: Mapping[str, Any]) -> str:
    """``page``, ``own-fetch``, ``scrapy-robots``, ``control`` or another recorded kind."""
    kind = text(record.get("kind"))
    url = text(record.get("url"))
    if kind and kind != PAGE:
        return kind
    messages = [text(r.get("message")) for r in reasons(record)]
    if not kind:
        if url == "*" or any("checks disabled" in m for m in messages):
            return CONTROL
        if any("fetch by crawler-compliance" in m for m in messages):
            return OWN_FETCH
    if _path(url).endswith("/robots.txt"):
        return SCRAPY_ROBOTS
    return PAGE


def own_fetch_file(url: str) -> str:
    path = _path(url)
    if path.endswith("/robots.txt"):
        return "robots.txt"
    if path.startswith("/.well-known/"):
        return "well-known"
    return "terms / other"


def parse_time(value: str) -> dt.datetime | None:
    """An ISO date or date-time (``Z`` allowed) as an aware UTC datetime, or None."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


@dataclass
class Filters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    spider: str | None = None

    def keep(self, record: Mapping[str, Any]) -> bool:
        if self.spider is not None and text(record.get("spider")) != self.spider:
            return False
        if self.since is None and self.until is None:
            return True
        when = parse_time(text(record.get("ts")))
        if when is None:
            return False
        if self.since is not None and when < self.since:
            return False
        return not (self.until is not None and when > self.until)


@dataclass
class NoticeTotal:
    notice: str
    issuer: str
    reference: str
    denied: int = 0


@dataclass
class RunTotal:
    run: str
    first: str
    last: str
    records: int = 0
    spiders: set[str] = field(default_factory=set)
    checks_disabled: bool = False


@dataclass
class Chain:
    """The log's verification: hash chain, and (transparency log) tree and checkpoints."""

    ok: bool
    status: str
    problem: str | None
    checkpoint: str
    files: int
    tree_size: int = 0
    root: str = ""
    checkpoints: int = 0  # signed tree heads in the LOG.checkpoints sidecar
    signature: str = ""


@dataclass
class Report:
    """Totals of one audit log (after the filters)."""

    path: str
    filters: Filters
    records: int = 0
    first: str = ""
    last: str = ""
    kinds: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)  # every selected record
    pages: Counter[str] = field(default_factory=Counter)  # verdict -> count
    denials_by_check: Counter[str] = field(default_factory=Counter)
    notices: dict[str, NoticeTotal] = field(default_factory=dict)
    hosts: dict[str, Counter[str]] = field(default_factory=dict)
    own_fetches: dict[str, Counter[str]] = field(default_factory=dict)  # file -> verdicts
    scrapy_robots: Counter[str] = field(default_factory=Counter)
    robots_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    terms_flags: Counter[tuple[str, str]] = field(default_factory=Counter)
    disabled: list[tuple[str, str, str]] = field(default_factory=list)  # ts, spider, message
    runs: dict[str, RunTotal] = field(default_factory=dict)
    chain: Chain | None = None

    # -- building ------------------------------------------------------------------

    def add(self, record: Mapping[str, Any], notices: Mapping[str, Any]) -> None:
        if not self.filters.keep(record):
            return
        self.records += 1
        ts = text(record.get("ts"))
        if ts:
            self.first = min(self.first, ts) if self.first else ts
            self.last = max(self.last, ts)
        run_id = text(record.get("run")) or _NO_RUN
        run = self.runs.setdefault(run_id, RunTotal(run_id, ts, ts))
        run.records += 1
        run.first, run.last = min(run.first or ts, ts or run.first), max(run.last, ts)
        spider = text(record.get("spider"))
        if spider:
            run.spiders.add(spider)
        kind = classify(record)
        self.kinds[kind] += 1
        verdict = text(record.get("verdict")) or "-"
        self.verdicts[verdict] += 1
        url = text(record.get("url"))
        if kind == CONTROL:
            for reason in reasons(record):
                message = text(reason.get("message"))
                if "disabled" in message:
                    run.checks_disabled = True
                    self.disabled.append((ts, spider, message))
            return
        # Terms flags ride on whatever record saw the page (a page or a response
        # record): evidence of restrictive clauses awaiting legal's review.
        for reason in reasons(record):
            if text(reason.get("check")) == "terms" and any(
                reason.get(key) for key in ("evidence", "flag", "flags")
            ):
                domain = text(record.get("registrable_domain")) or text(record.get("host")) or "-"
                where = text(reason.get("terms_url")) or text(reason.get("message"))
                self.terms_flags[(domain, where)] += 1
        if kind == OWN_FETCH:
            self.own_fetches.setdefault(own_fetch_file(url), Counter())[verdict] += 1
            return
        if kind == SCRAPY_ROBOTS:
            self.scrapy_robots[verdict] += 1
            return
        if kind != PAGE:
            return
        self.pages[verdict] += 1
        host = text(record.get("host")) or "-"
        self.hosts.setdefault(host, Counter())[verdict] += 1
        for reason in reasons(record):
            self._reason(host, verdict, reason, notices)

    def _reason(
        self, host: str, verdict: str, reason: Mapping[str, Any], notices: Mapping[str, Any]
    ) -> None:
        check = text(reason.get("check")) or "-"
        outcome = text(reason.get("outcome"))
        message = text(reason.get("message"))
        if outcome != "deny" or verdict != "deny":
            return
        self.denials_by_check[check] += 1
        if check == "registry":
            notice_id = text(reason.get("notice")) or text(reason.get("rule")) or "-"
            total = self.notices.get(notice_id)
            if total is None:
                known = notices.get(notice_id)
                total = NoticeTotal(
                    notice_id,
                    text(reason.get("issuer")) or (known[0] if known else ""),
                    text(reason.get("reference")) or (known[1] if known else ""),
                )
                self.notices[notice_id] = total
            total.denied += 1
        elif check == "robots" and reason.get("line") is None:
            # A robots.txt deny without a matching line is a failure to read it
            # (5xx, network error, too large...), not a rule of the site.
            self.robots_failures[(host, message)] += 1

    # -- reading -----------------------------------------------------------------------

    def host_rows(self) -> list[tuple[str, int, int]]:
        rows = [(host, c["deny"], c["allow"]) for host, c in self.hosts.items()]
        return sorted(rows, key=lambda row: (-row[1], -(row[1] + row[2]), row[0]))

    def notice_rows(self) -> list[NoticeTotal]:
        return sorted(self.notices.values(), key=lambda n: (-n.denied, n.notice))

    def totals(self) -> dict[str, int]:
        """The headline figures, keyed for tests and for the HTML page's data-total cells."""
        own = sum(sum(c.values()) for c in self.own_fetches.values())
        return {
            "records": self.records,
            "pages": sum(self.pages.values()),
            "pages-allow": self.pages["allow"],
            "pages-deny": self.pages["deny"],
            "own-fetches": own,
            "scrapy-robots": sum(self.scrapy_robots.values()),
            "checks-disabled": len(self.disabled),
            "robots-failures": sum(self.robots_failures.values()),
            "terms-flags": sum(self.terms_flags.values()),
            "runs": len(self.runs),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "filters": {
                "since": self.filters.since.isoformat() if self.filters.since else None,
                "until": self.filters.until.isoformat() if self.filters.until else None,
                "spider": self.filters.spider,
            },
            "records": self.records,
            "verdicts": dict(self.verdicts.most_common()),
            "totals": self.totals(),
            "time_range": {"first": self.first or None, "last": self.last or None},
            "kinds": dict(self.kinds.most_common()),
            "pages": dict(self.pages.most_common()),
            "denials_by_check": dict(self.denials_by_check.most_common()),
            "denials_by_notice": {n.notice: n.denied for n in self.notice_rows()},
            "notices": [
                {
                    "notice": n.notice,
                    "issuer": n.issuer,
                    "reference": n.reference,
                    "denied": n.denied,
                }
                for n in self.notice_rows()
            ],
            "hosts": {h: {"allow": a, "deny": d} for h, d, a in self.host_rows()},
            "own_fetches": {k: dict(v) for k, v in sorted(self.own_fetches.items())},
            "scrapy_robots": dict(self.scrapy_robots),
            "robots_failures": [
                {"host": h, "message": m, "count": c}
                for (h, m), c in self.robots_failures.most_common()
            ],
            "terms_flags": [
                {"host": h, "message": m, "count": c}
                for (h, m), c in self.terms_flags.most_common()
            ],
            "checks_disabled": [
                {"ts": ts, "spider": s, "message": m} for ts, s, m in self.disabled
            ],
            "runs": [
                {
                    "run": r.run,
                    "first": r.first,
                    "last": r.last,
                    "records": r.records,
                    "spiders": sorted(r.spiders),
                    "checks_disabled": r.checks_disabled,
                }
                for r in self.runs.values()
            ],
            "chain": None
            if self.chain is None
            else {
                "ok": self.chain.ok,
                "status": self.chain.status,
                "problem": self.chain.problem,
                "checkpoint": self.chain.checkpoint,
                "files": self.chain.files,
                "tree_size": self.chain.tree_size,
                "root": self.chain.root,
                "checkpoints": self.chain.checkpoints,
                "signature": self.chain.signature,
            },
        }


def build_report(
    path: str,
    records: Iterable[Mapping[str, Any]],
    *,
    filters: Filters | None = None,
    notices: Mapping[str, tuple[str, str]] | None = None,
    chain: Chain | None = None,
) -> Report:
    """Count ``records``. ``notices`` maps a notice id to (issuer, letter reference),
    from the policy, for records that do not carry them."""
    report = Report(path, filters or Filters())
    for record in records:
        report.add(record, notices or {})
    report.chain = chain
    return report
