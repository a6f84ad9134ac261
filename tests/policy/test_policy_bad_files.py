"""One bad policy file per test, each with the exact message a user reads.

Hostile files (alias bombs, deep nesting, huge files) must fail quickly; the
time guard is generous on purpose: it catches a hang, not a slow machine.
"""

from __future__ import annotations

import time

import pytest

from crawler_compliance.policy import MAX_FILE_BYTES

NOTICE = "pol/notices/n.yaml"
SITE = "pol/sites/s.yaml"
HANG_GUARD_SECONDS = 10.0


def test_misspelt_key_is_named_with_a_suggestion(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        stauts: active
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:1:1: status: required field is missing",
        f"{NOTICE}:4:1: stauts: unknown field 'stauts' (did you mean 'status'?)",
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_fields(policy_dir):
    policy_dir.write("policy.yaml", "crawler: {product_token: B, purpose: research}\nfoo: 1\n")
    assert policy_dir.errors() == [
        "pol/policy.yaml:2:1: foo: unknown field 'foo'; allowed fields: "
        "version, crawler, terms, robots, audit"
    ]


def test_misspelt_nested_key(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: active
        scopes:
          - label: Acme
            kind: named-service
            domain: [acme.example]
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:8:5: scopes.0.domain: unknown field 'domain' (did you mean 'domains'?)"
    ]


def test_bad_date(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-02-30
        status: active
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:3:11: received: '2020-02-30' is not a valid date (day is out of range for month)"
    ]


def test_date_in_another_format(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 10/01/2020
        status: active
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:3:11: received: '10/01/2020' is not a date written YYYY-MM-DD"
    ]


def test_bad_domain(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: active
        scopes:
          - label: Acme
            kind: named-service
            domains:
              - acme.example
              - acme.test
              - goo gle.com
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:11:9: scopes.0.domains.2: 'goo gle.com' is not a domain name "
        "(it contains a space)"
    ]


def test_bare_public_suffix_is_refused(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: active
        scopes:
          - {label: Acme, kind: named-service, domains: [co.uk]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:6:50: scopes.0.domains.0: 'co.uk' is a public suffix; listing it would "
        "cover every site registered under it (list the issuer's own domains instead)"
    ]


def test_expiry_before_received(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        expires: 2019-12-31
        status: active
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:4:10: expires: the notice expires (2019-12-31) before it was received "
        "(2020-01-10)"
    ]


def test_permission_expiring_before_it_was_granted(policy_dir):
    policy_dir.write(
        "sites/s.yaml",
        """\
        id: s
        domains: [s.example]
        permissions:
          - agreement: A-1
            granted: 2024-05-01
            expires: 2024-04-30
        """,
    )
    assert policy_dir.errors() == [
        f"{SITE}:6:14: permissions.0.expires: the permission expires (2024-04-30) before it "
        "was granted (2024-05-01)"
    ]


def test_duplicate_keys_are_all_reported(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme, name: Acme Inc.}
        received: 2020-01-10
        status: active
        status: withdrawn
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:2:22: issuer.name: duplicate key 'name' (first given on line 2); "
        "each key may appear once",
        f"{NOTICE}:5:1: status: duplicate key 'status' (first given on line 4); "
        "each key may appear once",
    ]


def test_duplicate_notice_ids_across_files(policy_dir):
    notice = """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: active
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """
    policy_dir.write("notices/a.yaml", notice)
    policy_dir.write("notices/b.yaml", notice)
    assert policy_dir.errors() == [
        "pol/notices/b.yaml:1:5: id: duplicate notice id 'acme-2020-01'; "
        "pol/notices/a.yaml:1 uses it already"
    ]


def test_duplicate_site_ids_and_domains(policy_dir):
    policy_dir.write("sites/a.yaml", "id: s\ndomains: [s.example]\n")
    policy_dir.write("sites/b.yaml", "id: s\ndomains: [www.s.example, s.example]\n")
    assert policy_dir.errors() == [
        "pol/sites/b.yaml:1:5: id: duplicate site record id 's'; pol/sites/a.yaml:1 uses it "
        "already",
        "pol/sites/b.yaml:2:26: domains.1: 's.example' is already covered by site record 's' "
        "(pol/sites/a.yaml:2); one record per domain",
    ]


def test_superseded_notice_must_name_a_known_successor(policy_dir):
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: superseded
        superseded_by: acme-2021-01
        scopes:
          - {label: Acme, kind: named-service, domains: [acme.example]}
        """,
    )
    assert policy_dir.errors() == [
        f"{NOTICE}:5:16: superseded_by: no notice has the id 'acme-2021-01'"
    ]


def test_misspelt_choice_gets_a_suggestion(policy_dir):
    policy_dir.write("policy.yaml", "crawler:\n  product_token: Bot\n  purpose: reserch\n")
    assert policy_dir.errors() == [
        "pol/policy.yaml:3:12: crawler.purpose: 'reserch' is not one of 'search-indexing', "
        "'ai-training', 'ai-input', 'research', 'archiving', 'monitoring', 'other' "
        "(did you mean 'research'?)"
    ]


def test_alias_bomb_is_refused_at_the_first_anchor(policy_dir):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        refs = ",".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    policy_dir.write("sites/s.yaml", "\n".join(lines) + "\n")
    started = time.monotonic()
    assert policy_dir.errors() == [
        f"{SITE}:1:5: anchor '&a0' is not allowed: policy files may not use anchors and "
        "aliases (write the value out in full)"
    ]
    assert time.monotonic() - started < HANG_GUARD_SECONDS


def test_alias_without_anchor_is_refused(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\ndomains: *d\n")
    assert policy_dir.errors() == [
        f"{SITE}:2:10: alias '*d' is not allowed: policy files may not use anchors and "
        "aliases (write the value out in full)"
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            'id: !!python/object/apply:os.system ["touch pwned"]\n',
            "!!python/object/apply:os.system",
        ),
        ("id: !!python/name:os.system\n", "!!python/name:os.system"),
        ("id: !custom s\n", "!custom"),
        ("id: !!str s\n", "!!str"),
    ],
)
def test_tags_are_refused_and_nothing_is_executed(policy_dir, tmp_path, text, shown):
    policy_dir.write("sites/s.yaml", text)
    assert policy_dir.errors() == [
        f"{SITE}:1:5: tag '{shown}' is not allowed: policy files hold plain data only "
        "(text, numbers, true/false, lists and mappings)"
    ]
    assert not (tmp_path / "pwned").exists()


def test_huge_file(policy_dir):
    policy_dir.write("sites/s.yaml", b"id: s\nnotes: '" + b"x" * MAX_FILE_BYTES + b"'\n")
    started = time.monotonic()
    assert policy_dir.errors() == [
        f"{SITE}:1:1: the file is larger than 1 MiB; policy files are a few KiB "
        "(is this the right file?)"
    ]
    assert time.monotonic() - started < HANG_GUARD_SECONDS


@pytest.mark.parametrize(
    "text",
    [
        "notes: " + "[" * 200_000 + "]" * 200_000 + "\n",
        "notes: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
        "".join("  " * depth + f"k{depth}:\n" for depth in range(500)),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_deep_nesting(policy_dir, text):
    policy_dir.write("sites/s.yaml", text)
    started = time.monotonic()
    errors = policy_dir.errors()
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert len(errors) == 1
    assert errors[0].startswith(f"{SITE}:")
    assert errors[0].endswith(
        ": nesting is deeper than 32 levels; policy files are never that deep "
        "(is this the right file?)"
    )


def test_exact_location_of_deep_nesting(policy_dir):
    policy_dir.write("sites/s.yaml", "notes: " + "[" * 40 + "]" * 40 + "\n")
    assert policy_dir.errors() == [
        f"{SITE}:1:39: nesting is deeper than 32 levels; policy files are never that deep "
        "(is this the right file?)"
    ]


def test_non_utf8_bytes(policy_dir):
    policy_dir.write("sites/s.yaml", b"id: s\nname: Caf\xe9 Example\ndomains: [s.example]\n")
    assert policy_dir.errors() == [
        f"{SITE}:2:10: byte 0xe9 is not valid UTF-8; save the file as UTF-8"
    ]


def test_utf16_file_is_reported_by_its_nul_bytes(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\n".encode("utf-16-le"))
    assert policy_dir.errors() == [
        f"{SITE}:1:2: NUL byte in file; policy files are UTF-8 text "
        "(is this a binary or UTF-16 file?)"
    ]


def test_nul_byte(policy_dir):
    policy_dir.write("sites/s.yaml", b"id: s\ndomains: [s.exa\x00mple]\n")
    assert policy_dir.errors() == [
        f"{SITE}:2:16: NUL byte in file; policy files are UTF-8 text "
        "(is this a binary or UTF-16 file?)"
    ]


def test_multi_document_file(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\n---\nid: t\n")
    assert policy_dir.errors() == [
        f"{SITE}:3:1: a second YAML document starts here; a policy file holds exactly one "
        "(remove the '---' separator or split the file)"
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_file(policy_dir, text):
    policy_dir.write("sites/s.yaml", text)
    assert policy_dir.errors() == [f"{SITE}:1:1: the file is empty; expected a mapping of fields"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- id: s\n- id: t\n", "a list"),
        ("just some text\n", "the value 'just some text'"),
    ],
)
def test_wrong_top_level_type(policy_dir, text, found):
    policy_dir.write("sites/s.yaml", text)
    assert policy_dir.errors() == [
        f"{SITE}:1:1: expected a mapping of fields ('key: value' lines) at the top level, "
        f"found {found}"
    ]


def test_wrong_type_of_nested_value(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\ndomains: s.example\nblock: yes please\n")
    assert policy_dir.errors() == [
        f"{SITE}:2:10: domains: expected a list, found the text 's.example'",
        f"{SITE}:3:8: block: expected a mapping of fields, found the text 'yes please'",
    ]


def test_number_where_text_is_expected(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\nname: 1984\n")
    assert policy_dir.errors() == [
        f"{SITE}:3:7: name: expected text, found a number (1984) (put it in quotes)"
    ]


def test_invalid_yaml_syntax(policy_dir):
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example\n")
    assert policy_dir.errors() == [
        f"{SITE}:3:1: invalid YAML: while parsing a flow sequence; "
        "expected ',' or ']', but got '<stream end>'"
    ]


def test_missing_policy_yaml(policy_dir):
    (policy_dir.root / "policy.yaml").unlink()
    assert policy_dir.errors() == [
        "pol/policy.yaml:1:1: file not found; every policy directory needs a policy.yaml "
        "(it declares the crawler's product token and purpose)"
    ]


def test_missing_directory_raises_policy_error(policy_dir):
    policy_dir.name = "nowhere"
    assert policy_dir.errors() == ["nowhere:1:1: the policy directory does not exist"]


def test_every_error_of_every_file_is_reported(policy_dir):
    policy_dir.write("policy.yaml", "crawler: {product_token: 'Bad Bot', purpose: research}\n")
    policy_dir.write(
        "notices/n.yaml",
        """\
        id: Acme 2020
        issuer: {name: ''}
        received: 2020-01-10
        status: active
        scopes: []
        """,
    )
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\nterms: {url: ftp://x}\n")
    assert policy_dir.errors() == [
        "pol/policy.yaml:1:26: crawler.product_token: 'Bad Bot' is not a robots.txt product "
        "token (RFC 9309 §2.2.1 allows only letters, '_' and '-', e.g. 'ComplianceDemoBot')",
        f"{NOTICE}:1:5: id: 'Acme 2020' is not a valid id: use up to 100 lower-case letters, "
        "digits, '-', '_' and '.', starting with a letter or digit",
        f"{NOTICE}:2:16: issuer.name: must not be empty",
        f"{NOTICE}:5:9: scopes: needs at least 1 item, found none",
        f"{SITE}:3:14: terms.url: 'ftp://x' is not a web address starting with http:// or https://",
    ]


def test_unsupported_version(policy_dir):
    policy_dir.write("policy.yaml", "version: 2\ncrawler: {product_token: B, purpose: research}\n")
    assert policy_dir.errors() == ["pol/policy.yaml:1:10: version: must be 1, found a number (2)"]


def test_choice_of_the_wrong_type(policy_dir):
    policy_dir.write("policy.yaml", "crawler: {product_token: B, purpose: 3}\n")
    assert policy_dir.errors() == [
        "pol/policy.yaml:1:38: crawler.purpose: expected one of 'search-indexing', "
        "'ai-training', 'ai-input', 'research', 'archiving', 'monitoring', 'other', "
        "found a number (3)"
    ]


def test_robots_failures_cannot_be_set_to_allow(policy_dir):
    policy_dir.write(
        "policy.yaml",
        "crawler:\n  product_token: Bot\n  purpose: research\nrobots:\n  on_unreachable: allow\n",
    )
    [error] = policy_dir.errors()
    assert error.startswith("pol/policy.yaml:5:19: robots.on_unreachable: 'allow' is not")
    assert "'deny'" in error
