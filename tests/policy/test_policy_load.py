"""Valid policy directories: what loads, with which defaults, from where."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from crawler_compliance._domains import normalize_domain
from crawler_compliance.policy import (
    DEFAULT_REDACT_QUERY_PARAMS,
    Notice,
    SourceRef,
    load_policy,
)

REPO = Path(__file__).resolve().parents[2]


def test_shipped_policies_validate():
    policy = load_policy(REPO / "policies")
    assert {n.id for n in policy.notices} == {
        "google-youtube-2020-02",
        "microsoft-linkedin-2020-02",
        "paypal-venmo-2020-02",
        "twitter-2020-01",
    }
    assert {s.id for s in policy.sites} == {
        "partner-example",
        "blocked-example",
        "news-example",
        "shop-example",
    }
    assert all(n.status == "active" and n.notes for n in policy.notices)
    for notice in policy.notices:
        kinds = {scope.kind for scope in notice.scopes}
        assert "named-service" in kinds and len(notice.scopes) >= 2, notice.id


def test_defaults_of_a_minimal_policy(policy_dir):
    policy = policy_dir.load()
    config = policy.config
    assert (config.version, config.crawler.product_token, config.crawler.purpose) == (
        1,
        "TestBot",
        "research",
    )
    assert (config.terms.unreviewed, config.terms.changed) == ("deny", "deny")
    robots = config.robots
    assert (robots.on_unreachable, robots.on_429, robots.obey_crawl_delay) == ("deny", "deny", True)
    assert (robots.max_crawl_delay, robots.cache_ttl, robots.max_stale) == (60.0, 86400, 2592000)
    assert robots.ai_training_opt_out is True
    audit = config.audit
    assert audit.redact_query_params == list(DEFAULT_REDACT_QUERY_PARAMS)
    assert (audit.fsync_interval, audit.fsync_every, audit.max_bytes) == (1.0, 1000, 100 * 2**20)
    assert policy.notices == () and policy.sites == ()
    assert policy.files == ("pol/policy.yaml",)


def test_sources_point_at_the_id_line_and_entries(policy_dir):
    policy_dir.write(
        "notices/acme.yaml",
        """\
        # Acme's letter
        id: acme-2020-01
        issuer: {name: Acme}
        received: 2020-01-10
        status: active
        scopes:
          - label: Acme
            kind: named-service
            domains:
              - acme.example
              - Bücher.Example.
        """,
    )
    notice = policy_dir.load().notices[0]
    assert notice.source == SourceRef("pol/notices/acme.yaml", 2)
    assert str(notice.source) == "pol/notices/acme.yaml:2"
    assert notice.line_of("scopes", 0, "domains", 1) == 11
    assert notice.line_of("nowhere") == 2
    # Unicode is kept in the ASCII (IDNA) form Scrapy connects to; case and final dot go.
    assert notice.scopes[0].domains == ["acme.example", "xn--bcher-kva.example"]
    assert notice.effective_date == datetime.date(2020, 1, 10)


def test_models_built_in_code_have_a_placeholder_source():
    notice = Notice.model_validate(
        {
            "id": "n",
            "issuer": {"name": "N"},
            "received": "2020-01-01",
            "status": "active",
            "scopes": [{"label": "N", "kind": "named-service", "domains": ["n.example"]}],
        }
    )
    assert notice.source == SourceRef("<python>", 0)
    with pytest.raises(ValueError, match="frozen"):
        notice.status = "withdrawn"


def test_yaml_1_1_surprises_do_not_happen(policy_dir):
    # "no" stays text (the Norway problem), a date in a text field stays text,
    # 1:20 is not sexagesimal 80.
    policy_dir.write(
        "sites/s.yaml",
        "id: s\ndomains: [s.example]\nname: no\nnotes: 2020-01-01\n"
        "block: {reason: '1:20', reference: 1:20}\n",
    )
    site = policy_dir.load().sites[0]
    assert (site.name, site.notes, site.block.reference) == ("no", "2020-01-01", "1:20")


def test_non_yaml_files_and_subdirectories_are_ignored(policy_dir):
    policy_dir.write("notices/README.md", "not yaml: [")
    policy_dir.write("notices/old/x.yaml", "not: valid")
    policy_dir.write("notices/.hidden.yaml", "not: valid")
    policy_dir.write("sites/s.yml", "id: s\ndomains: [s.example]\n")
    policy = policy_dir.load()
    assert [s.id for s in policy.sites] == ["s"]


def test_fingerprint_changes_with_any_file(policy_dir):
    first = policy_dir.load().fingerprint
    assert policy_dir.load().fingerprint == first
    assert len(first) == 64
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]\n")
    second = policy_dir.load().fingerprint
    policy_dir.write("sites/s.yaml", "id: s\ndomains: [s.example]  \n")
    third = policy_dir.load().fingerprint
    (policy_dir.root / "sites/s.yaml").rename(policy_dir.root / "sites/t.yaml")
    fourth = policy_dir.load().fingerprint
    assert len({first, second, third, fourth}) == 4


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("google.com", "google.com"),
        ("WWW.Google.COM", "www.google.com"),
        ("google.com.", "google.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("ｇｏｏｇｌｅ.com", "google.com"),  # full-width, NFKC as Scrapy does
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("blogspot.com", "blogspot.com"),  # a private suffix may be listed
        ("blog.google", "blog.google"),
    ],
)
def test_domain_names_accepted(value, normalised):
    assert normalize_domain(value) == normalised


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "an empty text is not a domain name"),
        ("goo gle.com", "'goo gle.com' is not a domain name (it contains a space)"),
        (
            "http://google.com",
            "'http://google.com' is not a domain name (write the host only, without 'http://')",
        ),
        (
            "google.com/x",
            "'google.com/x' is not a domain name (write the host only, without a path)",
        ),
        (
            "google.com:443",
            "'google.com:443' is not a domain name (write the host only, without a port or user "
            "name)",
        ),
        (
            "google..com",
            "'google..com' is not a domain name (it has an empty label: two dots in a "
            "row, or a leading dot)",
        ),
        (
            ".google.com",
            "'.google.com' is not a domain name (it has an empty label: two dots in a "
            "row, or a leading dot)",
        ),
        (
            "-google.com",
            "'-google.com' is not a domain name (the label '-google' starts or ends with a hyphen)",
        ),
        ("goo$gle.com", "'goo$gle.com' is not a domain name ('$' is not allowed in a domain name)"),
        (
            "a" * 64 + ".com",
            f"'{'a' * 64}.com' is not a domain name (the label 'aaaaaaaaaaaaaaaaaaaa'"
            "... is longer than 63 characters)",
        ),
        (("a" * 60 + ".") * 5 + "com", None),
        (
            "*.google.com",
            "'*.google.com' is not a domain name (drop the '*.'; a domain already "
            "covers every host under it: 'google.com')",
        ),
        ("192.0.2.1", "'192.0.2.1' is an IP address; list it under 'addresses'"),
        ("[2001:db8::1]", "'[2001:db8::1]' is an IP address; list it under 'addresses'"),
        ("example.123", "'example.123' is not a domain name (the last label is a number)"),
        (
            "com",
            "'com' is a public suffix; listing it would cover every site registered under it "
            "(list the issuer's own domains instead)",
        ),
        (
            "co.uk",
            "'co.uk' is a public suffix; listing it would cover every site registered "
            "under it (list the issuer's own domains instead)",
        ),
        (
            "intranet",
            "'intranet' is a single label; write a full domain name such as 'example.com'",
        ),
        (42, "expected a domain name, found a number (42)"),
    ],
)
def test_domain_names_refused(value, message):
    with pytest.raises(ValueError) as info:
        normalize_domain(value)
    if message is None:  # too long overall
        assert str(info.value).endswith("(it is longer than 253 characters)")
    else:
        assert str(info.value) == message
