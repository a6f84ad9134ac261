"""``crawler-compliance audit report``: the text report, the HTML page in a real browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crawler_compliance._checker import ComplianceChecker
from crawler_compliance._decision import Check, Outcome, Reason, RecordKind, decide
from crawler_compliance.audit import AuditLog
from crawler_compliance.cli import main
from crawler_compliance.policy import load_policy
from crawler_compliance.report import build_report, classify
from tests.cli.chromium import print_pdf, render

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
FORGED = "<script>alert('forged')</script>"
FORGED_ATTR = '"><img src=x onerror=alert(1)>'


def _write_log(path: Path) -> None:
    checker = ComplianceChecker(load_policy(POLICIES))
    with AuditLog(path) as log:
        log.append(
            decide(
                "*",
                [
                    Reason(
                        Check.POLICY,
                        Outcome.INFO,
                        "compliance checks disabled by COMPLIANCE_ENABLED=False (set at "
                        "project priority): requests of this crawl are not checked",
                    )
                ],
                kind=RecordKind.CONTROL,
            ),
            spider="offspider",
        )
        log.append(
            replace(
                checker.decide_own_fetch("https://news.example/robots.txt"),
                kind=RecordKind.OWN_FETCH,
            ),
            spider="s1",
        )
        log.append(checker.decide("https://www.youtube.com/watch?v=1", offline=True), spider="s1")
        log.append(checker.decide("https://twitter.com/x", offline=True), spider="s1")
        log.append(checker.decide("https://twitter.com/y", offline=True), spider="s2")
        log.append(
            decide(
                "https://open.example/robots.txt",
                [Reason(Check.ROBOTS, Outcome.ALLOW, "robots.txt returned 404: allow all")],
                host="open.example",
            ),
            spider="s1",
        )
        log.append(
            decide(
                "https://open.example/a",
                [Reason(Check.ROBOTS, Outcome.ALLOW, "robots.txt returned 404: allow all")],
                host="open.example",
            ),
            spider="s1",
        )
        log.append(
            decide(
                "https://flaky.example/",
                [
                    Reason(
                        Check.ROBOTS,
                        Outcome.DENY,
                        "robots.txt returned 503: server error means disallow all",
                    )
                ],
                host="flaky.example",
            ),
            spider="s1",
        )
        log.append(
            decide(
                "https://news.example/private",
                [Reason(Check.ROBOTS, Outcome.DENY, "line 2 disallows /private", line=2)],
                host="news.example",
            ),
            spider="s1",
        )
        log.append(
            decide(
                "https://terms.example/",
                [
                    Reason(
                        Check.TERMS,
                        Outcome.INFO,
                        "terms mention 'no automated access'",
                        extra=(("flag", "no-automated-access"),),
                    )
                ],
                host="terms.example",
            ),
            spider="s1",
        )
        # A forged record: markup and script in every field a renderer shows.
        log.append(
            decide(
                f"https://evil.example/{FORGED}",
                [
                    Reason(
                        Check.REGISTRY,
                        Outcome.DENY,
                        f"covered {FORGED}",
                        rule=FORGED_ATTR,
                        extra=(("notice", FORGED_ATTR), ("issuer", FORGED)),
                    )
                ],
                host=FORGED,
            ),
            spider=FORGED,
        )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    return path


# Expected from _write_log: 8 page decisions (2 allowed: open.example/a, terms.example;
# 6 denied: youtube, twitter x2, flaky, news private, forged), 1 own fetch, 1 Scrapy
# robots.txt request, 1 crawl with checks disabled.
EXPECTED = {
    "records": 11,
    "pages": 8,
    "pages-allow": 2,
    "pages-deny": 6,
    "own-fetches": 1,
    "scrapy-robots": 1,
    "checks-disabled": 1,
    "robots-failures": 1,
    "terms-flags": 1,
    "runs": 1,
}


def test_json_totals_keep_pages_own_fetches_and_disabled_crawls_apart(capsys, log: Path) -> None:
    code = main(["audit", "report", str(log), "--json", "--policies", str(POLICIES)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["totals"] == EXPECTED
    assert data["denials_by_check"] == {"registry": 4, "robots": 2}
    assert data["denials_by_notice"]["twitter-2020-01"] == 2
    notices = {n["notice"]: n for n in data["notices"]}
    assert notices["twitter-2020-01"]["denied"] == 2
    assert notices["twitter-2020-01"]["issuer"] == "Twitter, Inc."
    # The letter reference comes from the policy's notice file.
    assert "New York Times" in notices["twitter-2020-01"]["reference"]
    assert data["robots_failures"][0]["host"] == "flaky.example"
    assert data["chain"]["ok"] is True and data["chain"]["checkpoint"].startswith("11:")
    assert data["chain"]["tree_size"] == 11 and len(data["chain"]["root"]) == 64
    assert data["checks_disabled"][0]["spider"] == "offspider"


def _text_totals(text: str) -> dict[str, int]:
    def number(pattern: str) -> int:
        match = re.search(pattern, text, re.MULTILINE)
        assert match, f"{pattern!r} not in the text report:\n{text}"
        return int(match.group(1))

    return {
        "records": number(r"^records: (\d+)"),
        "runs": number(r"runs: (\d+)$"),
        "pages-allow": number(r"^  allowed\s+(\d+)$"),
        "pages-deny": number(r"^  denied\s+(\d+)$"),
        "pages": number(r"^  total\s+(\d+)$"),
        "own-fetches": number(r"own fetches \(not page decisions\): (\d+)"),
        "scrapy-robots": number(r"ROBOTSTXT_OBEY \(duplicates of our own fetch\): (\d+)"),
        "checks-disabled": number(r"^CHECKS DISABLED: (\d+)"),
    }


def test_text_report_shows_the_same_totals(capsys, log: Path) -> None:
    assert main(["audit", "report", str(log)]) == 0
    text = capsys.readouterr().out
    totals = _text_totals(text)
    assert totals == {key: EXPECTED[key] for key in totals}
    assert "chain: intact" in text
    # Terminal safety: the forged host is shown, but never as raw control text.
    assert "\x1b" not in text


def test_filters_by_spider_and_time(capsys, log: Path) -> None:
    main(["audit", "report", str(log), "--json", "--spider", "s2"])
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["pages"] == 1 and list(data["hosts"]) == ["twitter.com"]
    main(["audit", "report", str(log), "--json", "--until", "2000-01-01"])
    assert json.loads(capsys.readouterr().out)["totals"]["records"] == 0
    main(["audit", "report", str(log), "--json", "--since", "2000-01-01T00:00:00Z"])
    assert json.loads(capsys.readouterr().out)["totals"]["records"] == 11
    with pytest.raises(SystemExit) as exc:
        main(["audit", "report", str(log), "--since", "yesterday"])
    assert exc.value.code == 2


def test_a_tampered_log_exits_one_and_says_so(capsys, log: Path) -> None:
    lines = log.read_text().splitlines()
    lines[2] = lines[2].replace('"deny"', '"allow"')
    log.write_text("\n".join(lines) + "\n")
    assert main(["audit", "report", str(log)]) == 1
    assert "chain: TAMPERED" in capsys.readouterr().out


def test_kind_and_run_fields_win_over_inference() -> None:
    records = [
        {"kind": "own-fetch", "url": "https://a.example/robots.txt", "verdict": "allow"},
        {"kind": "page", "url": "https://a.example/robots.txt", "verdict": "allow"},
        {"kind": "guard", "url": "https://a.example/", "verdict": "deny"},
        {"kind": "page", "url": "https://a.example/", "verdict": "deny", "run": "r2"},
        {"url": "https://a.example/", "verdict": "allow", "run": "r1"},
        # Logs written before records had a kind: inferred from the reasons.
        {
            "url": "https://b.example/robots.txt",
            "verdict": "allow",
            "reasons": [{"check": "robots", "message": "robots.txt fetch by crawler-compliance"}],
        },
        {
            "url": "*",
            "verdict": "allow",
            "reasons": [{"check": "policy", "message": "compliance checks disabled by X"}],
        },
    ]
    assert [classify(r) for r in records] == [
        "own-fetch",
        "scrapy-robots",
        "guard",
        "page",
        "page",
        "own-fetch",
        "control",
    ]
    report = build_report("x", records)
    assert report.totals()["pages"] == 2 and report.totals()["runs"] == 3
    assert report.kinds["guard"] == 1


class _Totals(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[str, str] = {}
        self.scripts = 0
        self.handlers: list[str] = []
        self._key: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self._key = dict(attrs).get("data-total")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._key is not None:
            self.totals[self._key] = data.strip()
            self._key = None


def test_html_page_escapes_every_value_from_the_log(capsys, log: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["audit", "report", str(log), "--html", str(page)]) == 0
    source = page.read_text(encoding="utf-8")
    parser = _Totals()
    parser.feed(source)
    assert parser.scripts == 0 and parser.handlers == []
    assert "&lt;script&gt;alert(&#x27;forged&#x27;)&lt;/script&gt;" in source
    # Self-contained: nothing to fetch, and a policy that forbids scripts anyway.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source)
    assert "default-src 'none'" in source


def test_html_report_renders_in_chromium_with_the_text_totals(
    capsys, log: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    assert main(["audit", "report", str(log), "--html", str(page)]) == 0
    text_totals = _text_totals(capsys.readouterr().out)
    dom, console, screenshot = render(page, tmp_path)
    assert console == [], console
    assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parser = _Totals()
    parser.feed(dom)
    assert parser.scripts == 0 and parser.handlers == []
    assert FORGED in "".join(parser.text)  # shown as text, not run as script
    shown = {key: int(value) for key, value in parser.totals.items()}
    assert {key: shown[key] for key in text_totals} == text_totals
    assert {key: shown[key] for key in EXPECTED} == EXPECTED


def test_html_report_prints_on_a4(capsys, log: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["audit", "report", str(log), "--html", str(page)]) == 0
    boxes = re.findall(
        rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", print_pdf(page, tmp_path).read_bytes()
    )
    assert boxes, "no page in the PDF"
    # A4 is 210 x 297 mm = 595.3 x 841.9 pt (Chromium rounds to 1/96 in).
    for width, height in boxes:
        assert abs(float(width) - 595.3) < 1.5 and abs(float(height) - 841.9) < 1.5


def test_the_console_check_catches_a_page_that_logs(tmp_path: Path) -> None:
    """The browser check itself can fail: a page that writes to the console is caught."""
    page = tmp_path / "noisy.html"
    page.write_text("<!DOCTYPE html><script>console.error('noisy page')</script>")
    _, console, _ = render(page, tmp_path)
    assert any("noisy page" in line for line in console)


@pytest.mark.crawl
def test_demo_crawl_report_renders_with_the_text_totals(tmp_path: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--output-dir", str(tmp_path / "demo")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    (log,) = (tmp_path / "demo").glob("*/audit.jsonl")
    page = tmp_path / "demo-report.html"
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler_compliance",
            "audit",
            "report",
            str(log),
            "--html",
            str(page),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    text_totals = _text_totals_without_disabled(report.stdout)
    dom, console, screenshot = render(page, tmp_path)
    assert console == [] and screenshot.is_file()
    parser = _Totals()
    parser.feed(dom)
    shown = {key: int(value) for key, value in parser.totals.items()}
    assert text_totals["pages-deny"] > 0 and text_totals["own-fetches"] > 0
    assert {key: shown[key] for key in text_totals} == text_totals


def _text_totals_without_disabled(text: str) -> dict[str, int]:
    return _text_totals("CHECKS DISABLED: 0\n" + text)


def test_the_html_page_never_overwrites_the_log(capsys, log: Path) -> None:
    before = log.read_bytes()
    assert main(["audit", "report", str(log), "--html", str(log)]) == 2
    assert log.read_bytes() == before and "refusing" in capsys.readouterr().err


def test_audit_show_check_filter_host_url_and_visible_notice_id(capsys, log: Path) -> None:
    assert (
        main(
            [
                "audit",
                "show",
                str(log),
                "--check",
                "registry",
                "--host",
                "https://twitter.com/x?y=1",
            ]
        )
        == 0
    )
    header, *rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and all("twitter.com" in row for row in rows)
    # The notice id is shown in full at the start of the reason column.
    assert all("[twitter-2020-01] twitter.com is covered" in row for row in rows)
    main(["audit", "show", str(log), "--check", "robots", "--denied"])
    rows = capsys.readouterr().out.splitlines()[1:]
    assert sorted(row.split()[4] for row in rows) == ["flaky.example", "news.example"]
    with pytest.raises(SystemExit):
        main(["audit", "show", str(log), "--check", "nonsense"])
