"""``crawler-compliance terms snapshot | diff | pending`` against a loopback server."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from crawler_compliance._decision import Check, Outcome, Reason, decide
from crawler_compliance.audit import AuditLog
from crawler_compliance.cli import main
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]
TERMS_HTML = """<!doctype html><html><head><script>var b="{build}"</script></head><body>
<nav>Home</nav><main><h1>Terms of Use</h1>
<p>You may browse and index our pages.</p>{extra}
<input type="hidden" name="csrf" value="{build}">
</main></body></html>"""
RESTRICTIVE = (
    "<p>You may not use any robot, spider or other automated means to access the Service.</p>"
)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the demo policy: shop.example is watched, YouTube is covered."""
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target)
    return target


def reviewed(policies: Path, server: LoopbackServer, html: str) -> None:
    """Legal's review: snapshot the page now and write the record, as the README says."""
    out = policies / "terms" / "shop-example.txt"
    assert main(["terms", "snapshot", "http://shop.example/terms", "--proxy", server.proxy,
                 "--policies", str(policies), "--out", str(out)]) == 0  # fmt: skip
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    record = policies / "sites" / "shop.example.yaml"
    text = record.read_text(encoding="utf-8")
    start = text.index("sha256: ") + len("sha256: ")
    record.write_text(text[:start] + sha + text[start + 64 :], encoding="utf-8")
    assert main(["validate", str(policies)]) == 0


def test_snapshot_prints_the_fingerprint_and_the_restrictive_clause(capsys, policies) -> None:
    with LoopbackServer() as server:
        server.route(
            "shop.example",
            "/terms",
            body=TERMS_HTML.format(
                build="1", extra=RESTRICTIVE + "<p>Our robots are friendly.</p>"
            ),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        code, out, _ = run(capsys, "terms", "snapshot", "http://shop.example/terms",
                           "--proxy", server.proxy, "--policies", str(policies))  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("sha256 ") and lines[0].endswith("http://shop.example/terms")
    assert "1 clause restricting automated access (keyword matching, not legal advice):" in out
    assert "«You may not use any robot, spider or other automated means" in out
    assert "friendly" not in out
    assert [r.path for r in server.received] == ["/terms"]
    assert server.received[0].via_proxy


def test_snapshot_out_then_validate_then_diff_unchanged_despite_noise(capsys, policies) -> None:
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="a", extra=""),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        reviewed(policies, server, TERMS_HTML)
        capsys.readouterr()
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="b", extra="\n\n "),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        code, out, _ = run(capsys, "terms", "diff", "shop-example", "--proxy", server.proxy,
                           "--policies", str(policies))  # fmt: skip
    assert code == 0, out
    assert out.startswith("unchanged http://shop.example/terms")


def test_diff_shows_the_new_clause_and_exits_one(capsys, policies) -> None:
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="a", extra=""),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        reviewed(policies, server, TERMS_HTML)
        capsys.readouterr()
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="a", extra=RESTRICTIVE),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        code, out, _ = run(capsys, "terms", "diff", "shop-example", "--proxy", server.proxy,
                           "--policies", str(policies))  # fmt: skip
    assert code == 1
    assert out.startswith("CHANGED http://shop.example/terms: reviewed sha256 ")
    assert "--- reviewed (shop-example)\n+++ current (http://shop.example/terms)\n" in out
    assert "+You may not use any robot, spider or other automated means" in out


def test_the_environment_proxy_is_honoured(capsys, policies, monkeypatch) -> None:
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body="Terms: be nice.",
                     headers={"Content-Type": "text/plain"})  # fmt: skip
        monkeypatch.setenv("http_proxy", server.proxy)
        code, out, _ = run(capsys, "terms", "snapshot", "--json", "http://shop.example/terms",
                           "--policies", str(policies))  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["sha256"] == hashlib.sha256(b"Terms: be nice.\n").hexdigest()
    assert server.received[0].via_proxy


def test_a_covered_host_is_never_contacted_even_after_a_redirect(
    capsys, policies, tmp_path
) -> None:
    audit = tmp_path / "audit.jsonl"
    with LoopbackServer() as server:
        server.route(
            "shop.example", "/terms", status=302, location="http://www.youtube.com/t/terms"
        )
        code, out, _ = run(capsys, "terms", "snapshot", "http://www.youtube.com/t/terms",
                           "--proxy", server.proxy, "--policies", str(policies))  # fmt: skip
        assert code == 1
        assert "NOT READ" in out and "google-youtube-2020-02" in out
        code, out, _ = run(capsys, "terms", "snapshot", "http://shop.example/terms",
                           "--proxy", server.proxy, "--policies", str(policies),
                           "--audit-log", str(audit))  # fmt: skip
        assert code == 1
        assert server.paths("www.youtube.com") == []
        assert server.paths("shop.example") == ["/terms"]
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["url"], r["verdict"]) for r in records] == [
        ("http://shop.example/terms", "allow"),  # the first hop, decided before it was sent
        ("http://www.youtube.com/t/terms", "deny"),  # the redirect hop, never sent
        ("http://shop.example/terms", "allow"),  # what came of it: not read
    ]
    assert records[0]["reasons"][-1]["check"] == "terms"
    assert records[2]["reasons"][0]["terms_status"] == "blocked"
    assert main(["audit", "verify", str(audit)]) == 0


@pytest.mark.parametrize(
    ("route", "detail"),
    [
        ({"status": 503, "body": "down"}, "503"),
        ({"status": 200, "body": "slow", "delay": 3.0}, "timeout"),
        ({"status": 302, "location": "http://shop.example/terms"}, "redirect-loop"),
        ({"status": 200, "body": b"<p>" + b"a" * (50 * 1024 * 1024)}, "too-large"),
        (
            {
                "status": 200,
                "body": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40,
                "headers": {"Content-Type": "image/png"},
            },
            "not-a-page",
        ),  # fmt: skip
        (
            {
                "status": 200,
                "body": gzip.compress(b"<p>" + b"x" * (100 * 1024 * 1024)),
                "headers": {"Content-Type": "text/html", "Content-Encoding": "gzip"},
            },
            "too-large",
        ),
    ],
)
def test_hostile_terms_pages_end_in_a_clean_refusal(capsys, policies, route, detail) -> None:
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", **route)
        code, out, _ = run(capsys, "terms", "snapshot", "--json", "http://shop.example/terms",
                           "--proxy", server.proxy, "--policies", str(policies),
                           "--timeout", "1.5")  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert (data["status"], data["detail"]) == ("unreachable", detail)
    assert data["sha256"] is None


def test_a_non_utf8_charset_is_read(capsys, policies) -> None:
    body = '<meta charset="windows-1252"><p>Conditions générales: no scraping allowed.</p>'
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body=body.encode("cp1252"),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        code, out, _ = run(capsys, "terms", "snapshot", "http://shop.example/terms",
                           "--proxy", server.proxy, "--policies", str(policies))  # fmt: skip
    assert code == 0
    assert "encoding cp1252" in out
    assert "«Conditions générales: no scraping allowed.»" in out


def test_diff_of_an_unknown_record_is_a_usage_error(capsys, policies) -> None:
    code, _, err = run(capsys, "terms", "diff", "nope", "--policies", str(policies))
    assert code == 2 and "no site record has the id 'nope'" in err
    code, _, err = run(capsys, "terms", "diff", "news-example", "--policies", str(policies))
    assert code == 2 and "has no terms.sha256" in err


# --- pending -----------------------------------------------------------------------------


def discovery_record(log: AuditLog, host: str, domain: str, evidence: tuple[str, ...]) -> None:
    reason = Reason(
        Check.TERMS,
        Outcome.INFO,
        f"terms page of {domain} found",
        rule="discovered",
        extra=(
            ("event", "terms-discovered"),
            ("terms_url", f"https://{host}/terms"),
            ("evidence", evidence),
        ),
    )
    log.append(decide(f"https://{host}/terms", [reason], host=host, registrable_domain=domain))


def test_pending_lists_flagged_unreviewed_sites_with_evidence(capsys, policies, tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    sentence = "You may not use any robot, spider or other automated means."
    discovery_record(log, "www.shop.co.uk", "shop.co.uk", (sentence,))
    discovery_record(log, "friendly.co.uk", "friendly.co.uk", ())
    discovery_record(log, "news.example", "news.example", ("Scraping is forbidden.",))
    log.append(decide("https://plain.co.uk/", [], host="plain.co.uk"))
    log.close()
    code, out, _ = run(capsys, "terms", "pending", str(path), "--policies", str(policies))
    assert code == 1
    assert out.splitlines()[0].startswith("shop.co.uk  terms: https://www.shop.co.uk/terms")
    assert f"  - «{sentence}»" in out
    assert "friendly" not in out
    assert "news.example" not in out  # legal reviewed news.example's terms
    code, out, _ = run(capsys, "terms", "pending", "--json", str(path), "--policies", str(policies))
    [entry] = [json.loads(line) for line in out.splitlines()]
    assert entry["domain"] == "shop.co.uk" and entry["evidence"] == [sentence]


def test_pending_on_a_log_without_findings_and_older_logs(capsys, tmp_path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(
        textwrap.dedent(
            """\
            {"url": "https://a.example/", "verdict": "allow", "reasons": "not a list"}
            not json at all
            """
        ),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "terms", "pending", str(path), "--policies", str(REPO / "policies"))
    assert code == 0 and out.startswith("nothing pending")
    code, _, err = run(capsys, "terms", "pending", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in err


def test_check_fetches_a_watched_terms_page_and_denies_when_changed(policies, tmp_path) -> None:
    from crawler_compliance._enforcement import Enforcer
    from crawler_compliance._identity import crawl_identity
    from crawler_compliance.cli._check import decide_url
    from crawler_compliance.policy import load_policy

    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="a", extra=""),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        reviewed(policies, server, TERMS_HTML)
        policy = load_policy(policies)
        identity = crawl_identity(
            user_agent_header=None, compliance_user_agent=None, policy_token="ComplianceDemoBot"
        )
        enforcer = Enforcer.from_policy(policy, identity=identity, audit_path=tmp_path / "a.jsonl")
        ok = decide_url(enforcer, "http://shop.example/x", offline=False, timeout=5,
                        proxy=server.proxy)  # fmt: skip
        assert ok.allowed, ok.summary()
        server.route("shop.example", "/terms", body=TERMS_HTML.format(build="a", extra=RESTRICTIVE),
                     headers={"Content-Type": "text/html"})  # fmt: skip
        enforcer.close()
        enforcer = Enforcer.from_policy(policy, identity=identity, audit_path=tmp_path / "b.jsonl")
        denied = decide_url(enforcer, "http://shop.example/x", offline=False, timeout=5,
                            proxy=server.proxy)  # fmt: skip
        enforcer.close()
    assert not denied.allowed and denied.deciding_check.value == "terms"
    assert server.paths("shop.example").count("/robots.txt") == 1  # not fetched once changed
