"""Review fixes: YAML 1.2 types without guessing, located reader errors, limits, looser checks.

One bad file per test, each with the exact message a user reads. Hostile files
must fail quickly; the time guard catches a hang, not a slow machine.
"""

from __future__ import annotations

import time

import pytest

from crawler_compliance.audit import DEFAULT_REDACT_PARAMS
from crawler_compliance.cli import main
from crawler_compliance.policy import DEFAULT_REDACT_QUERY_PARAMS, _load
from crawler_compliance.policy._yaml import MAX_NODES

NOTICE = "pol/notices/n.yaml"
POLICY = "pol/policy.yaml"
HANG_GUARD_SECONDS = 10.0

NOTICE_HEAD = """\
id: acme-2020-01
issuer: {name: Acme}
received: 2020-01-10
status: active
scopes:
  - label: Acme
    kind: named-service
    domains: [acme.example]
"""


def _policy(extra: str) -> str:
    return "crawler: {product_token: B, purpose: research}\n" + extra


def _timed_errors(policy_dir) -> list[str]:
    started = time.monotonic()
    errors = policy_dir.errors()
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    return errors


# --- M3: only true/false are booleans, only unquoted numbers are numbers -----------------


@pytest.mark.parametrize(
    ("written", "shown", "hint"),
    [
        ("no", "'no'", "write false"),
        ("off", "'off'", "write false"),
        ("n", "'n'", "write false"),
        ("f", "'f'", "write false"),
        ("'0'", "'0'", "write false"),
        ("yes", "'yes'", "write true"),
        ("'true'", "'true'", "write true"),
    ],
)
def test_yaml_1_1_words_are_not_booleans(policy_dir, written, shown, hint):
    policy_dir.write("policy.yaml", _policy(f"robots:\n  obey_crawl_delay: {written}\n"))
    assert _timed_errors(policy_dir) == [
        f"{POLICY}:3:21: robots.obey_crawl_delay: expected true or false, found the text "
        f"{shown} ({hint}: only true and false are yes/no values)"
    ]


def test_a_number_is_not_a_boolean(policy_dir):
    policy_dir.write("policy.yaml", _policy("robots:\n  ai_training_opt_out: 0\n"))
    assert policy_dir.errors() == [
        f"{POLICY}:3:24: robots.ai_training_opt_out: expected true or false, found a number (0)"
    ]


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("true", "true (a yes/no value)"),
        ("1.0", "a number (1.0)"),
        ("'1'", "the text '1'"),
        ("2", "a number (2)"),
    ],
)
def test_version_is_exactly_the_number_1(policy_dir, written, found):
    policy_dir.write("policy.yaml", _policy(f"version: {written}\n"))
    assert policy_dir.errors() == [f"{POLICY}:2:10: version: must be 1, found {found}"]


@pytest.mark.parametrize(
    ("field", "written", "found"),
    [
        ("audit:\n  fsync_every", "'100'", "the text '100' (remove the quotes)"),
        ("audit:\n  fsync_every", "true", "true (a yes/no value)"),
        ("audit:\n  fsync_every", "100.0", "a number (100.0)"),
        ("audit:\n  max_bytes", "true", "true (a yes/no value)"),
        ("audit:\n  max_bytes", "'1048576'", "the text '1048576' (remove the quotes)"),
        ("robots:\n  cache_ttl", "'3600'", "the text '3600' (remove the quotes)"),
        ("robots:\n  max_stale", "false", "false (a yes/no value)"),
    ],
)
def test_whole_numbers_are_not_guessed(policy_dir, field, written, found):
    policy_dir.write("policy.yaml", _policy(f"{field}: {written}\n"))
    section, key = field.split(":\n  ")
    col = 2 + len(key) + 3
    assert policy_dir.errors() == [
        f"{POLICY}:3:{col}: {section}.{key}: expected a whole number, found {found}"
    ]


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("'1e3'", "the text '1e3' (remove the quotes)"),
        ("'60'", "the text '60' (remove the quotes)"),
        ("'soon'", "the text 'soon'"),
        ("true", "true (a yes/no value)"),
    ],
)
def test_seconds_are_numbers_not_text(policy_dir, written, found):
    policy_dir.write("policy.yaml", _policy(f"robots:\n  max_crawl_delay: {written}\n"))
    assert policy_dir.errors() == [
        f"{POLICY}:3:20: robots.max_crawl_delay: expected a number, found {found}"
    ]


def test_seconds_take_whole_and_decimal_numbers(policy_dir):
    policy_dir.write(
        "policy.yaml",
        _policy("robots:\n  max_crawl_delay: 30\naudit:\n  fsync_interval: 0.5\n"),
    )
    config = policy_dir.load().config
    assert (config.robots.max_crawl_delay, config.audit.fsync_interval) == (30.0, 0.5)
    assert isinstance(config.robots.max_crawl_delay, float)


# --- L9: non-finite numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "written", "found"),
    [
        ("robots:\n  max_crawl_delay", ".inf", "infinity (.inf, or a number too large)"),
        ("robots:\n  max_crawl_delay", "1e400", "infinity (.inf, or a number too large)"),
        ("robots:\n  max_crawl_delay", ".nan", "not-a-number (.nan)"),
        ("audit:\n  fsync_interval", ".inf", "infinity (.inf, or a number too large)"),
        ("audit:\n  fsync_interval", "-.inf", "infinity (.inf, or a number too large)"),
        ("audit:\n  fsync_interval", ".NaN", "not-a-number (.nan)"),
    ],
)
def test_non_finite_seconds_are_refused(policy_dir, field, written, found):
    policy_dir.write("policy.yaml", _policy(f"{field}: {written}\n"))
    section, key = field.split(":\n  ")
    col = 2 + len(key) + 3
    assert policy_dir.errors() == [
        f"{POLICY}:3:{col}: {section}.{key}: must be a finite number, found {found}"
    ]


# --- M4: tracebacks become located errors ----------------------------------------------------


def test_control_character_is_located(policy_dir):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD.replace("{name: Acme}", "{name: Ac\x07me}"))
    assert _timed_errors(policy_dir) == [
        f"{NOTICE}:2:18: control character U+0007 is not allowed in a policy file "
        "(remove it, or write it as \\u0007 inside double quotes)"
    ]


def test_control_character_written_as_an_escape_is_fine(policy_dir):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + 'notes: "bell \\u0007"\n')
    assert policy_dir.load().notices[0].notes == "bell \x07"


def test_control_character_after_cr_only_line_ends(policy_dir):
    policy_dir.write("policy.yaml", _policy("audit:\r  fsync_every: 1\x1b\r").encode())
    assert policy_dir.errors() == [
        f"{POLICY}:3:17: control character U+001B is not allowed in a policy file "
        "(remove it, or write it as \\u001B inside double quotes)"
    ]


def test_integer_longer_than_python_reads(policy_dir):
    policy_dir.write("policy.yaml", _policy("audit:\n  fsync_every: " + "9" * 5000 + "\n"))
    assert _timed_errors(policy_dir) == [
        f"{POLICY}:3:16: audit.fsync_every: this number is 5000 characters long; numbers "
        "in a policy file are at most 100 (put it in quotes if it is meant as text)"
    ]


def test_long_hex_number_in_a_list(policy_dir):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + "demands: [0x" + "f" * 200 + "]\n")
    assert policy_dir.errors() == [
        f"{NOTICE}:9:11: demands.0: this number is 202 characters long; numbers in a "
        "policy file are at most 100 (put it in quotes if it is meant as text)"
    ]


def test_long_number_is_reported_after_duplicate_keys(policy_dir):
    policy_dir.write("policy.yaml", _policy("version: 1\nversion: 1\nnotes: " + "1" * 101 + "\n"))
    assert policy_dir.errors() == [
        f"{POLICY}:3:1: version: duplicate key 'version' (first given on line 2); "
        "each key may appear once",
        f"{POLICY}:4:8: notes: this number is 101 characters long; numbers in a policy "
        "file are at most 100 (put it in quotes if it is meant as text)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            NOTICE_HEAD.replace("name: Acme", "name: Ac\x07me"),
            "pol/notices/n.yaml:2:18: control character U+0007 is not allowed in a policy "
            "file (remove it, or write it as \\u0007 inside double quotes)",
        ),
        (
            NOTICE_HEAD + "notes: " + "9" * 5000 + "\n",
            "pol/notices/n.yaml:9:8: notes: this number is 5000 characters long; numbers in "
            "a policy file are at most 100 (put it in quotes if it is meant as text)",
        ),
    ],
)
def test_cli_reports_reader_errors_without_a_traceback(policy_dir, capsys, content, message):
    policy_dir.write("notices/n.yaml", content)
    assert main(["validate", "pol"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [message, "pol: invalid (1 error in 1 file)"]
    assert "Traceback" not in captured.err
    assert main(["check", "--offline", "--policies", "pol", "https://acme.example/"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [message]
    assert "Traceback" not in captured.out


# --- L6: positions as editors show them --------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "name"),
    [("\u2028", "line separator"), ("\u2029", "paragraph separator"), ("\x85", "next line")],
)
def test_yaml_1_1_line_breaks_are_refused_where_editors_show_them(policy_dir, char, name):
    text = f"# a comment {char} with a break\n" + NOTICE_HEAD.replace("active", "bogus")
    policy_dir.write("notices/n.yaml", text)
    code = f"{ord(char):04X}"
    assert _timed_errors(policy_dir) == [
        f"{NOTICE}:1:13: character U+{code} ({name}) is not allowed: YAML reads it as a line "
        "break but editors do not, so line numbers would not match (remove it, or write it "
        f"as \\u{code} inside double quotes)"
    ]


def test_line_separator_in_a_quoted_value_is_refused_too(policy_dir):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + "notes: 'a\u2028b'\n")
    assert policy_dir.errors() == [
        f"{NOTICE}:9:10: character U+2028 (line separator) is not allowed: YAML reads it as "
        "a line break but editors do not, so line numbers would not match (remove it, or "
        "write it as \\u2028 inside double quotes)"
    ]


def test_line_separator_written_as_an_escape_keeps_positions(policy_dir):
    policy_dir.write(
        "notices/n.yaml", 'notes: "a\\u2028b"\n' + NOTICE_HEAD.replace("active", "bogus")
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:5:9: status: 'bogus' is not one of 'active', 'withdrawn', 'superseded'"
    ]


def test_cr_only_line_ends_count_as_editors_count_them(policy_dir):
    policy_dir.write(
        "notices/n.yaml", NOTICE_HEAD.replace("active", "bogus").replace("\n", "\r").encode()
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:4:9: status: 'bogus' is not one of 'active', 'withdrawn', 'superseded'"
    ]


def test_bad_utf8_after_cr_only_line_ends(policy_dir):
    policy_dir.write("notices/n.yaml", b"id: a\rnotes: caf\xe9\r")
    assert policy_dir.errors() == [
        f"{NOTICE}:2:11: byte 0xe9 is not valid UTF-8; save the file as UTF-8"
    ]


# --- M6: bounded work per file and per directory ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("notes: [" + "a," * 500_000 + "]\n", "1:100003"),
        ("notes: [" + "[]," * 340_000 + "]\n", "1:150000"),
        ("{" + "a: b, " * 170_000 + "}\n", "1:149999"),
        ("notes:\n" + "- a\n" * 250_000, "49999:3"),
    ],
    ids=["flow-list", "empty-lists", "flow-map", "block-list"],
)
def test_too_many_nodes_stops_early(policy_dir, text, where):
    assert len(text.encode()) <= _load.MAX_FILE_BYTES
    policy_dir.write("notices/n.yaml", text)
    assert _timed_errors(policy_dir) == [
        f"{NOTICE}:{where}: too many YAML nodes (over {MAX_NODES}): a policy file is a few "
        "hundred entries (is this the right file?)"
    ]


def test_too_many_files(policy_dir, monkeypatch):
    monkeypatch.setattr(_load, "MAX_FILES", 3)
    for name in ("a", "b", "c"):
        policy_dir.write(f"notices/{name}.yaml", NOTICE_HEAD.replace("acme-", f"{name}-"))
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\n")
    assert policy_dir.errors() == [
        "pol/sites:1:1: more than 3 policy files (notices and site records together); a "
        "policy directory holds tens of files (is this the right directory?)"
    ]


def test_too_many_files_in_one_directory(policy_dir, monkeypatch):
    monkeypatch.setattr(_load, "MAX_FILES", 2)
    for name in ("a", "b", "c"):
        policy_dir.write(f"notices/{name}.yaml", NOTICE_HEAD.replace("acme-", f"{name}-"))
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\n")
    assert policy_dir.errors() == [
        "pol/notices:1:1: more than 2 policy files (notices and site records together); a "
        "policy directory holds tens of files (is this the right directory?)"
    ]


def test_too_many_bytes_in_the_directory(policy_dir, monkeypatch):
    monkeypatch.setattr(_load, "MAX_TOTAL_BYTES", 2 * 1024 * 1024)
    filler = "notes: '" + "x" * (900 * 1024) + "'\n"
    for name in ("a", "b", "c"):
        policy_dir.write(f"notices/{name}.yaml", NOTICE_HEAD.replace("acme-", f"{name}-") + filler)
    assert _timed_errors(policy_dir) == [
        "pol/notices/c.yaml:1:1: the policy files add up to more than 2 MiB; stopped reading "
        "here (policy files are a few KiB each; is this the right directory?)"
    ]


def test_failed_files_keep_only_their_id(policy_dir):
    policy_dir.write("notices/a.yaml", NOTICE_HEAD + "stauts: x\n")
    policy_dir.write("notices/b.yaml", NOTICE_HEAD)
    issues: list = []
    loaded = _load._load_file(
        (policy_dir.root / "notices/a.yaml").read_bytes(), "a", _load.Notice, issues
    )
    assert loaded is not None and loaded.model is None
    assert loaded.ident == "acme-2020-01"
    assert list(loaded.positions) == [("id",)]
    assert policy_dir.errors()[-1] == (
        "pol/notices/b.yaml:1:5: id: duplicate notice id 'acme-2020-01'; "
        "pol/notices/a.yaml:1 uses it already"
    )


# --- L9: brands and networks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand", "message"),
    [
        (
            "com",
            "'com' is not a brand but a word registries use in public suffixes (com.au, "
            "com.br, ...); it would match sites of unrelated owners (list the issuer's own "
            "brand, such as 'google')",
        ),
        (
            "co",
            "'co' is not a brand but a word registries use in public suffixes (co.uk, co.jp, "
            "...); it would match sites of unrelated owners (list the issuer's own brand, "
            "such as 'google')",
        ),
        (
            "www",
            "'www' is not a brand but a generic host name label (list the issuer's own "
            "domains instead)",
        ),
        (
            "a",
            "'a' is too short to be a brand (at least 2 characters); list the issuer's own "
            "domains instead",
        ),
    ],
)
def test_generic_brands_are_refused(policy_dir, brand, message):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + f"    brands: ['{brand}']\n")
    assert policy_dir.errors() == [f"{NOTICE}:9:14: scopes.0.brands.0: {message}"]


@pytest.mark.parametrize("brand", ["google", "microsoft", "hp", "ge", "acme", "paypal"])
def test_real_brands_are_accepted_even_brand_tlds(policy_dir, brand):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + f"    brands: [{brand}]\n")
    assert policy_dir.load().notices[0].scopes[0].brands == [brand]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        (
            "0.0.0.0/1",
            "'0.0.0.0/1' is too broad: it covers 2,147,483,648 addresses (the widest IPv4 "
            "network accepted is a /8); list the notice's own networks",
        ),
        (
            "0.0.0.0/0",
            "'0.0.0.0/0' is too broad: it covers 4,294,967,296 addresses (the widest IPv4 "
            "network accepted is a /8); list the notice's own networks",
        ),
        (
            "'::/1'",
            "'::/1' is too broad: it covers 2^127 addresses (the widest IPv6 network "
            "accepted is a /16); list the notice's own networks",
        ),
        (
            "'2000::/15'",
            "'2000::/15' is too broad: it covers 2^113 addresses (the widest IPv6 network "
            "accepted is a /16); list the notice's own networks",
        ),
    ],
)
def test_broad_networks_are_refused(policy_dir, network, message):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + f"    addresses: [{network}]\n")
    assert policy_dir.errors() == [f"{NOTICE}:9:17: scopes.0.addresses.0: {message}"]


def test_the_widest_accepted_networks(policy_dir):
    policy_dir.write("notices/n.yaml", NOTICE_HEAD + "    addresses: [10.0.0.0/8, '2001::/16']\n")
    assert policy_dir.load().notices[0].scopes[0].addresses == ["10.0.0.0/8", "2001::/16"]


# --- redaction defaults come from the audit log ------------------------------------------------


def test_default_redaction_is_the_audit_logs_built_in_list(policy_dir):
    assert list(DEFAULT_REDACT_QUERY_PARAMS) == sorted(DEFAULT_REDACT_PARAMS)
    audit = policy_dir.load().config.audit
    assert audit.redact_query_params == sorted(DEFAULT_REDACT_PARAMS)


def test_max_crawl_delay_above_the_engine_cap_is_refused(policy_dir):
    policy_dir.write(
        "policy.yaml",
        "crawler:\n  product_token: Bot\n  purpose: research\nrobots:\n  max_crawl_delay: 120\n",
    )
    [error] = policy_dir.errors()
    assert error.startswith("pol/policy.yaml:5:20: robots.max_crawl_delay:")
    assert "60" in error
