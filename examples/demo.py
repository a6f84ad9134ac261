"""The main-job demo: crawl a loopback stand-in for the web with the compliance add-on on.

Run from the repository root::

    python -m examples.demo            # or: make demo

It starts :class:`examples.standin_web.StandInWeb` (one local server that
answers for www.youtube.com, twitter.com, news.example, … and acts as the
crawl's HTTP proxy), runs :class:`examples.spider.DemoSpider` in-process with
``ADDONS = {"crawler_compliance.Addon": 0}``, and prints three things a
reviewer can check without reading code:

1. every decision, in the order the audit log recorded it, with its reason;
2. what the stand-in web actually received, per host — a zero for every host
   that must not be contacted is the proof that the block came first;
3. the audit log's path and the verification of its hash chain.

Exit status: 0 when everything behaved (covered and blocked hosts were never
contacted, nothing was fetched without an allow record written first, the
pages that may be crawled were crawled, the log verifies, and nothing tried to
leave loopback); 1 otherwise, with each problem named.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from examples.spider import DemoSpider

if TYPE_CHECKING:
    from examples.standin_web import SeenRequest

REPO_ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = REPO_ROOT / "policies"
DEFAULT_OUTPUT_DIR = REPO_ROOT / "demo-output"
USER_AGENT = "ComplianceDemoBot/1.0 (+https://example.invalid/bot)"
PURPOSE = "search-indexing"
# A safety net, not a target: the crawl takes about a second.
CRAWL_TIME_LIMIT = 40

NONE, ROBOTS_ONLY, CRAWLED = "never contacted", "robots.txt only", "crawled"
TERMS_ONLY = "terms page only"


@dataclass(frozen=True)
class Expectation:
    """What the stand-in web should see of one host, and the rule that says so."""

    contact: str  # NONE, ROBOTS_ONLY or CRAWLED
    why: str
    never: tuple[str, ...] = ()  # path prefixes that must never be requested


EXPECTED: dict[str, Expectation] = {
    "www.youtube.com": Expectation(NONE, "cease-and-desist: Google / YouTube"),
    "twitter.com": Expectation(NONE, "cease-and-desist: Twitter"),
    "www.linkedin.com": Expectation(NONE, "cease-and-desist: Microsoft / LinkedIn"),
    "blocked.example": Expectation(NONE, "legal's site record: block"),
    "flaky.example": Expectation(ROBOTS_ONLY, "robots.txt answers 503: disallow all"),
    "news.example": Expectation(CRAWLED, "robots.txt: Disallow: /private/", never=("/private/",)),
    "partner.example": Expectation(CRAWLED, "permission covers /catalogue/ only", never=("/team",)),
    "open.example": Expectation(CRAWLED, "no robots.txt (404): allow all"),
    "aisignals.example": Expectation(CRAWLED, "ai-train=no binds only ai-training"),
    "redirect.example": Expectation(CRAWLED, "its redirect to YouTube is refused"),
    "shop.example": Expectation(TERMS_ONLY, "terms changed since legal's review"),
}

# The same opt-out site crawled a second time, by a crawl declaring another purpose:
# its AI opt-out (Content-Signal ai-train=no) admits the search-indexing crawl above
# and refuses this one.
AI_PURPOSE = "ai-training"
AI_START_URLS = ("http://aisignals.example/",)
AI_EXPECTED: dict[str, Expectation] = {
    "aisignals.example": Expectation(ROBOTS_ONLY, "Content-Signal ai-train=no: refused"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description="Crawl a loopback stand-in for the web with crawler-compliance on.",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help="where each run gets a fresh folder for its audit log and crawl log "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--browser",
        action="store_true",
        help="render every page with scrapy-playwright and Chromium: the browser's own "
        "requests (images, frames, scripts, XHR) are decided too",
    )
    parser.add_argument(
        "--chromium",
        default="/usr/bin/chromium",
        help="the Chromium executable for --browser (default: %(default)s; "
        "tools/ensure-chromium.sh installs it)",
    )
    args = parser.parse_args(argv)

    try:
        from crawler_compliance import Addon  # noqa: F401 (fail early, with a sentence)
        from crawler_compliance._testing.netguard import loopback_only
        from crawler_compliance.audit import verify_log
        from examples.standin_web import StandInWeb
    except ImportError as exc:
        print(f"The crawler_compliance Scrapy add-on cannot be imported: {exc}", file=sys.stderr)
        return 1

    args.output_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(
        tempfile.mkdtemp(prefix=time.strftime("run-%Y%m%d-%H%M%S-"), dir=args.output_dir)
    )
    audit_path = run_dir / "audit.jsonl"
    ai_audit_path = run_dir / "audit-ai-training.jsonl"
    crawl_log = run_dir / "crawl.log"

    print(
        f"Crawling a loopback stand-in for the web with crawler-compliance on\n"
        f"  policy: {_rel(POLICY_DIR)}/   purpose: {PURPOSE}   user agent: {USER_AGENT}\n"
    )
    started = time.monotonic()
    with (
        loopback_only() as escapes,
        StandInWeb(on_request=_allow_recorded(audit_path)) as web,
        StandInWeb(on_request=_allow_recorded(ai_audit_path)) as ai_web,
    ):
        chromium = args.chromium if args.browser else None
        stats, ai_stats = _crawl(
            [
                _Run(web.proxy_url, audit_path, PURPOSE, None, chromium),
                # The AI-purpose crawl shows the opt-out signal; it needs no browser.
                _Run(ai_web.proxy_url, ai_audit_path, AI_PURPOSE, AI_START_URLS, None),
            ],
            crawl_log,
        )
        seen = web.requests
        ai_seen = ai_web.requests
    elapsed = time.monotonic() - started

    records = _read_records(audit_path)
    ai_records = _read_records(ai_audit_path)

    problems: list[str] = []
    finish_reason = stats.get("finish_reason")
    if finish_reason != "finished":
        # First, because it explains most of what follows (a policy that does
        # not load stops the crawl before any request, by design).
        what = "did not start" if finish_reason is None else f"ended with {finish_reason!r}"
        problems.append(f"the crawl {what}; Scrapy's log: {_rel(crawl_log)}")
        problems.extend(_crawl_errors(crawl_log))
    _print_decisions(records)
    _print_requests(seen, problems)
    _print_audit(audit_path, stats, verify_log, problems)
    _check_recorded_first(seen, problems)
    print(
        f"\n--- The same opt-out site, crawled for purpose {AI_PURPOSE} (its own audit log) ---\n"
    )
    _print_decisions(ai_records)
    _print_requests(ai_seen, problems, AI_EXPECTED)
    _print_audit(ai_audit_path, ai_stats, verify_log, problems)
    _check_recorded_first(ai_seen, problems)
    if not any(
        r.get("verdict") == "deny" and "ai-train=no" in str(r.get("reasons")) for r in ai_records
    ):
        problems.append(f"the {AI_PURPOSE} crawl was not refused by the site's AI opt-out")
    for what, times in Counter(escapes).items():
        problems.append(f"something tried to leave loopback: {what} ({times}x)")
    if not records:
        problems.append("the audit log holds no decisions at all")

    pages = stats.get("response_received_count", 0)
    print(
        f"\nCrawl: {pages} responses received in {elapsed:.1f}s (Scrapy's log: {_rel(crawl_log)})."
    )
    if problems:
        print(f"\n!!! RESULT: FAILED — {len(problems)} problem(s):")
        for problem in problems:
            lines = [
                wrapped
                for paragraph in problem.splitlines()
                for wrapped in textwrap.wrap(
                    paragraph, 110, break_on_hyphens=False, break_long_words=False
                )
            ]
            print(f"!!! - {lines[0]}")
            for line in lines[1:]:
                print(f"!!!   {line}")
        return 1
    print(
        "\nRESULT: OK — no covered or blocked host was contacted, every request was "
        "recorded as allowed\nbefore it reached the server, and the audit log verifies."
    )
    return 0


def _browser_settings(proxy_url: str, chromium: str) -> dict[str, Any]:
    """scrapy-playwright with Debian's Chromium, its proxy the stand-in web, resolving nothing."""
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": chromium,
            "headless": True,
            "proxy": {"server": proxy_url},
            "args": ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        },
        "DEMO_PLAYWRIGHT": True,
    }


@dataclass(frozen=True)
class _Run:
    """One crawl of the demo: its stand-in web, audit log, purpose and start URLs."""

    proxy_url: str
    audit_path: Path
    purpose: str
    start_urls: tuple[str, ...] | None
    chromium: str | None = None  # render through scrapy-playwright with this Chromium


def _crawl(runs: list[_Run], crawl_log: Path) -> list[dict[str, Any]]:
    """Run the spider once per run, side by side in this process; return each crawl's stats."""
    # Imported here: AsyncCrawlerProcess installs the asyncio reactor on creation.
    from scrapy.crawler import AsyncCrawlerProcess

    process = AsyncCrawlerProcess(
        {
            "ADDONS": {"crawler_compliance.Addon": 0},
            "COMPLIANCE_POLICY_DIR": str(POLICY_DIR),
            "USER_AGENT": USER_AGENT,
            "ROBOTSTXT_OBEY": False,  # crawler-compliance replaces it
            "RETRY_TIMES": 1,
            "DOWNLOAD_TIMEOUT": 5,
            "CLOSESPIDER_TIMEOUT": CRAWL_TIME_LIMIT,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "INFO",
            "LOG_FILE": str(crawl_log),
        }
    )
    crawlers = []
    for number, run in enumerate(runs):
        # Each crawl gets its own purpose and audit log (spider-priority settings).
        spider = type(
            f"DemoSpider{number}",
            (DemoSpider,),
            {
                "name": "demo" if number == 0 else f"demo-{run.purpose}",
                "custom_settings": {
                    **(_browser_settings(run.proxy_url, run.chromium) if run.chromium else {}),
                    "COMPLIANCE_AUDIT_LOG": str(run.audit_path),
                    "COMPLIANCE_PURPOSE": run.purpose,
                },
            },
        )
        crawler = process.create_crawler(spider)
        crawlers.append(crawler)
        process.crawl(crawler, proxy=run.proxy_url, start_urls=run.start_urls)
    process.start()
    stats = []
    for crawler in crawlers:
        assert crawler.stats is not None
        stats.append(crawler.stats.get_stats())
    return stats


def _crawl_errors(crawl_log: Path, limit: int = 3) -> list[str]:
    """The first ERROR/CRITICAL entries of Scrapy's log, with their continuation lines.

    A policy that does not load is reported there with every located error
    (``policies/sites/x.yaml:3:1: bogus: ...``), one per continuation line.
    """
    try:
        lines = crawl_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    entries: list[str] = []
    in_error = False
    for line in lines:
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line):
            # asyncio's "Task exception was never retrieved" repeats the cause.
            in_error = ("] ERROR: " in line or "] CRITICAL: " in line) and "[asyncio]" not in line
            if in_error:
                if len(entries) == limit:
                    break
                entries.append(line.split("] ", 1)[-1])
        elif in_error and line.strip() and not line.startswith("Traceback"):
            entries[-1] += "\n" + line.strip()
        elif line.startswith("Traceback"):
            in_error = False
    return [f"Scrapy's log says: {entry}" for entry in entries]


def _allow_recorded(audit_path: Path) -> Callable[[str], bool]:
    """The stand-in's per-request hook: is an allow record for this URL already written?

    The middleware promises to write (and flush) the decision before the request
    goes on, so by the time a request reaches the server its record must be in
    the file. Checked while the request waits for its response.
    """

    def check(url: str) -> bool:
        return any(
            record.get("url") == url and record.get("verdict") == "allow"
            for record in _read_records(audit_path)
        )

    return check


def _read_records(audit_path: Path) -> list[dict[str, Any]]:
    """Every readable record (a torn last line is skipped: verify reports it)."""
    from crawler_compliance.audit import iter_records

    try:
        return list(iter_records(audit_path))
    except FileNotFoundError:
        return []


# --- (1) the decisions -------------------------------------------------------------

_LEGAL_CHECKS = ("registry", "site", "terms")
_REQUEST_WIDTH = 36
_CHECK_WIDTH = 14
_REASON_WIDTH = 50


def _print_decisions(records: list[dict[str, Any]]) -> None:
    print(
        "Decisions, in the order the audit log recorded them "
        "(each written before its request could be sent):\n"
    )
    header = (
        f"{'seq':>4}  {'verdict':7}  {'request':{_REQUEST_WIDTH}}  {'check':{_CHECK_WIDTH}}  reason"
    )
    print(header)
    print(
        f"{'-' * 4}  {'-' * 7}  {'-' * _REQUEST_WIDTH}  {'-' * _CHECK_WIDTH}  {'-' * _REASON_WIDTH}"
    )
    indent = " " * (4 + 2 + 7 + 2 + _REQUEST_WIDTH + 2)
    for record in records:
        verdict = str(record.get("verdict", "?"))
        shown = verdict.upper() if verdict == "deny" else verdict
        first = f"{record.get('seq', '?')!s:>4}  {shown:7}  {_shorten(record.get('url'))}  "
        for index, (check, text) in enumerate(_explain(record)):
            lines = textwrap.wrap(
                text, _REASON_WIDTH, break_on_hyphens=False, break_long_words=False
            ) or [""]
            lead = first if index == 0 else indent
            print(f"{lead}{check:{_CHECK_WIDTH}}  {lines[0]}")
            for more in lines[1:]:
                print(f"{indent}{'':{_CHECK_WIDTH}}  {more}")
    denied = sum(1 for r in records if r.get("verdict") == "deny")
    print(f"\n{len(records)} decisions: {len(records) - denied} allowed, {denied} denied.")
    subresources = [r for r in records if r.get("kind") == "subresource"]
    if subresources:
        sub_denied = sum(1 for r in subresources if r.get("verdict") == "deny")
        print(
            f"Of them, requests the browser made for rendered pages: {len(subresources)} "
            f"({len(subresources) - sub_denied} allowed, {sub_denied} denied and aborted)."
        )


def _explain(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The reasons worth showing: every denying one; for an allow, what allowed it.

    An allow also shows legal's notes about the site (a terms review, say), which
    the log keeps as "info": a reader asking "may we crawl this?" wants them.
    Everything else is in the log itself (``crawler-compliance audit show``).
    """
    reasons = [r for r in record.get("reasons") or [] if isinstance(r, dict)]
    if record.get("verdict") == "deny":
        shown = [r for r in reasons if r.get("outcome") == "deny"]
    else:
        shown = [
            r
            for r in reasons
            if r.get("outcome") == "allow"
            or (r.get("outcome") == "info" and r.get("check") in _LEGAL_CHECKS)
        ]
    if not shown:
        shown = [r for r in reasons if r.get("outcome") == "info"][:1]
    if not shown:
        return [("-", "no check objected")]
    return [(str(r.get("check", "?")), _reason_text(r, record)) for r in shown]


def _reason_text(reason: dict[str, Any], record: dict[str, Any]) -> str:
    text = str(reason.get("message", "")).strip()
    rule = reason.get("rule")
    if rule and str(rule) not in text:
        text += f" [{rule}]"
    source = reason.get("source")
    if source:
        where = str(source) if "://" in str(source) else _rel(source)
        if reason.get("line"):
            where += f":{reason['line']}"
        text += f" ({where})"
    changes = reason.get("changes")
    if isinstance(changes, list) and changes:
        # What changed in the terms since legal's review (the first lines of the diff).
        text += "; changed since review: " + " | ".join(str(line) for line in changes[:3])
    if reason.get("check") == "robots" and record.get("robots_status"):
        status = str(record["robots_status"])
        if status not in text:
            text += f"; robots.txt fetch: {status}"
    return text


def _shorten(url: Any, width: int = _REQUEST_WIDTH) -> str:
    text = str(url or "?")
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{text:{width}}"


def _rel(path: Any) -> str:
    """A policy file or output path relative to the repository, when it is inside it."""
    text = str(path)
    try:
        return str(Path(text).resolve().relative_to(REPO_ROOT))
    except (ValueError, OSError):
        return text


# --- (2) what the server received --------------------------------------------------


def _print_requests(
    seen: list[SeenRequest],
    problems: list[str],
    expected: dict[str, Expectation] | None = None,
) -> None:
    expected = EXPECTED if expected is None else expected
    print("\nWhat the stand-in web received, per host (robots.txt fetches included):\n")
    print(
        f"{'host':18}  {'total':>5}  {'robots':>6}  {'pages':>5}  "
        f"{'expected':16}  {'because':44}  result"
    )
    print(f"{'-' * 18}  {'-' * 5}  {'-' * 6}  {'-' * 5}  {'-' * 16}  {'-' * 44}  ------")
    hosts = list(expected) + sorted({s.host for s in seen} - set(expected))
    for host in hosts:
        mine = [s for s in seen if s.host == host]
        robots = sum(1 for s in mine if s.is_robots_txt)
        pages = len(mine) - robots
        expect = expected.get(host)
        failures = _judge(host, mine, expect)
        problems.extend(failures)
        result = "!! FAIL" if failures else "ok"
        contact = expect.contact if expect else "not in the demo"
        why = expect.why if expect else "-"
        print(
            f"{host:18}  {len(mine):>5}  {robots:>6}  {pages:>5}  {contact:16}  {why:44}  {result}"
        )


def _judge(host: str, mine: list[SeenRequest], expect: Expectation | None) -> list[str]:
    if expect is None:
        return [f"{host} is not a demo host but received {len(mine)} request(s)"]
    pages = [s for s in mine if not s.is_robots_txt]
    failures = []
    if expect.contact == NONE and mine:
        failures.append(
            f"{host} must never be contacted ({expect.why}) but received {len(mine)} "
            f"request(s): {', '.join(s.target for s in mine[:5])}"
        )
    elif expect.contact == ROBOTS_ONLY and pages:
        failures.append(
            f"{host} may only be asked for robots.txt ({expect.why}) but received "
            f"{len(pages)} page request(s): {', '.join(s.target for s in pages[:5])}"
        )
    elif expect.contact == TERMS_ONLY and [s for s in pages if s.target != "/terms"]:
        others = [s.target for s in pages if s.target != "/terms"]
        failures.append(
            f"{host} may only be asked for its terms page ({expect.why}) but received "
            f"{len(others)} other page request(s): {', '.join(others[:5])}"
        )
    elif expect.contact == CRAWLED and not pages:
        failures.append(
            f"{host} should have been crawled ({expect.why}) but no page "
            f"was requested: is the middleware denying too much?"
        )
    for prefix in expect.never:
        hits = [s.target for s in mine if s.target.startswith(prefix)]
        if hits:
            failures.append(f"{host}{prefix} must never be requested but was: {', '.join(hits)}")
    return failures


def _check_recorded_first(seen: list[SeenRequest], problems: list[str]) -> None:
    early = [s for s in seen if s.recorded_before is False]
    for s in early:
        problems.append(
            f"{s.method} {s.url} reached the server with no allow record in the audit log"
        )


# --- (3) the audit log -------------------------------------------------------------


def _print_audit(
    audit_path: Path,
    stats: dict[str, Any],
    verify_log: Callable[..., Any],
    problems: list[str],
) -> None:
    """Verify the hash chain, and that it still reaches the checkpoint the crawl reported.

    The checkpoint (last sequence number and hash, kept in the crawl's stats and
    log at close) lives outside the file: it is what makes a truncated log
    detectable, since a chain cut short is otherwise still a valid chain.
    """
    print(f"\nAudit log: {_rel(audit_path)}")
    seq = stats.get("compliance/audit/last_seq")
    digest = stats.get("compliance/audit/last_hash")
    checkpoint = f"{seq}:{digest}" if seq is not None and digest else None
    try:
        report = verify_log(str(audit_path), checkpoint)
    except (OSError, ValueError) as exc:
        print(f"Verification: !!! FAILED — cannot verify it: {exc}")
        problems.append(f"the audit log cannot be verified: {exc}")
        return
    if len(report.files) > 1:
        print(f"  (rotated over {len(report.files)} files, verified as one chain)")
    if report.ok:
        print(
            f"Verification: OK — {report.intact} of {report.records} records intact, "
            f"hash chain unbroken, last seq {report.last_seq}, last hash {report.last_hash[:16]}…"
        )
    else:
        print(f"Verification: !!! FAILED — {report.problem}")
        problems.append(f"the audit log does not verify: {report.problem}")
    if report.torn_tail:
        print("  (its last line is torn, as after a crash)")
    if checkpoint:
        state = "reached unchanged" if report.ok else "NOT reached"
        print(f"Checkpoint from the crawl's stats at close: {seq}:{str(digest)[:16]}… ({state})")
    else:
        print("!!! The crawl reported no checkpoint (compliance/audit/last_seq, last_hash).")
        problems.append("the crawl's stats hold no audit checkpoint, so truncation would go unseen")
    continued = " \\" if checkpoint else ""
    print(f"Check it yourself:\n  crawler-compliance audit verify {_rel(audit_path)}{continued}")
    if checkpoint:
        print(f"      --checkpoint {checkpoint}")


if __name__ == "__main__":
    raise SystemExit(main())
