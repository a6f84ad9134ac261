"""The pytest plugin as a CI user meets it: options, fixtures, failures."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_fixtures_decide_urls_against_the_policy(pytester) -> None:
    pytester.makepyfile(
        """
        def test_youtube_is_off_limits(compliance_check):
            decision = compliance_check("https://www.youtube.com/")
            assert not decision.allowed
            assert decision.denying_reasons[0].rule == "google-youtube-2020-02"

        def test_example_org_is_fine(compliance_check):
            assert compliance_check("https://example.org/").allowed
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:twisted", f"--compliance-policies={REPO / 'policies'}"
    )
    result.assert_outcomes(passed=2)


def test_an_invalid_policy_fails_with_located_errors(pytester) -> None:
    pytester.makefile(".yaml", **{"bad/policy": "version: 1\ncrawler:\n  purpse: x\n"})
    pytester.makepyfile(
        """
        def test_uses_policy(compliance_policy):
            pass
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:twisted", "--compliance-policies=bad"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*policy.yaml:3:3*"])


def test_ini_option_and_purpose(pytester) -> None:
    pytester.makeini(
        f"""
        [pytest]
        compliance_policies = {REPO / "policies"}
        compliance_purpose = ai-training
        """
    )
    pytester.makepyfile(
        """
        def test_purpose(compliance_checker):
            assert compliance_checker.purpose == "ai-training"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:twisted")
    result.assert_outcomes(passed=1)


def test_audit_fixture_verifies_a_log_and_spots_an_edit(pytester, tmp_path) -> None:
    from crawler_compliance import Check, Reason
    from crawler_compliance._decision import decide
    from crawler_compliance.audit import AuditLog

    log = tmp_path / "audit.jsonl"
    with AuditLog(log) as audit:
        for n in range(3):
            audit.append(decide(f"https://example.org/{n}", [Reason(Check.ROBOTS, "allow", "ok")]))
    edited = tmp_path / "edited.jsonl"
    edited.write_text(log.read_text().replace('"verdict":"allow"', '"verdict":"deny"', 1))
    pytester.makepyfile(
        f"""
        def test_intact(compliance_audit):
            assert compliance_audit({str(log)!r}).ok

        def test_edited(compliance_audit):
            report = compliance_audit({str(edited)!r})
            assert not report.ok and report.problem
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:twisted")
    result.assert_outcomes(passed=2)


def test_terms_unchanged_fixture_passes_then_fails_with_the_diff(pytester, tmp_path) -> None:
    import hashlib
    import shutil

    from tests.loopback import LoopbackServer

    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    page = "<main><h1>Terms</h1><p>You may index our pages.</p></main>"
    text = "Terms\nYou may index our pages.\n"
    (policies / "terms" / "shop-example.txt").write_text(text, encoding="utf-8")
    record = policies / "sites" / "shop.example.yaml"
    old = record.read_text(encoding="utf-8")
    start = old.index("sha256: ") + len("sha256: ")
    sha = hashlib.sha256(text.encode()).hexdigest()
    record.write_text(old[:start] + sha + old[start + 64 :], encoding="utf-8")
    with LoopbackServer() as server:
        server.route("shop.example", "/terms", body=page, headers={"Content-Type": "text/html"})
        pytester.makepyfile(
            f"""
            def test_shop_terms(compliance_terms_unchanged):
                page = compliance_terms_unchanged("shop-example", proxy={server.proxy!r})
                assert page.sha256 == {sha!r}
            """
        )
        args = ("-p", "no:cacheprovider", "-p", "no:twisted", f"--compliance-policies={policies}")
        pytester.runpytest_inprocess(*args).assert_outcomes(passed=1)
        server.route(
            "shop.example",
            "/terms",
            body=page.replace("</main>", "<p>You may not scrape our prices.</p></main>"),
            headers={"Content-Type": "text/html"},
        )
        result = pytester.runpytest_inprocess(*args)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*terms of 'shop-example' at http://shop.example/terms changed since review*",
                "*+You may not scrape our prices.*",
            ]  # fmt: skip
        )
        server.route("shop.example", "/terms", status=503)
        result = pytester.runpytest_inprocess(*args)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*could not be compared with the review*HTTP 503*"])
