"""Which hosts each seed notice covers, and which look-alikes it must not."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from crawler_compliance._registry import Registry, RegistryHit
from crawler_compliance.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
GOOGLE = "google-youtube-2020-02"
MICROSOFT = "microsoft-linkedin-2020-02"
PAYPAL = "paypal-venmo-2020-02"
TWITTER = "twitter-2020-01"
ON = datetime.date(2026, 1, 1)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.from_policy(load_policy(REPO / "policies"))


def _ids(hits: list[RegistryHit]) -> list[str]:
    return sorted({hit.notice_id for hit in hits})


COVERED = [
    # Google / YouTube: named service, parent company, brand under every public suffix.
    ("youtube.com", GOOGLE, "YouTube", "youtube.com"),
    ("www.youtube.com", GOOGLE, "YouTube", "youtube.com"),
    ("m.youtube.com", GOOGLE, "YouTube", "youtube.com"),
    ("youtu.be", GOOGLE, "YouTube", "youtu.be"),
    ("i.ytimg.com", GOOGLE, "YouTube", "ytimg.com"),
    ("rr3---sn-4g5e6nz7.googlevideo.com", GOOGLE, "YouTube", "googlevideo.com"),
    ("www.youtube-nocookie.com", GOOGLE, "YouTube", "youtube-nocookie.com"),
    ("youtube.de", GOOGLE, "YouTube", "youtube"),
    ("google.com", GOOGLE, "Google", "google.com"),
    ("www.google.com", GOOGLE, "Google", "google.com"),
    ("google.co.uk", GOOGLE, "Google", "google"),
    ("www.google.com.au", GOOGLE, "Google", "google"),
    ("www.google.de", GOOGLE, "Google", "google"),
    ("maps.google.co.jp", GOOGLE, "Google", "google"),
    ("lh3.googleusercontent.com", GOOGLE, "Google", "googleusercontent.com"),
    ("fonts.gstatic.com", GOOGLE, "Google", "gstatic.com"),
    ("someone.blogspot.com", GOOGLE, "Google", "blogspot.com"),
    ("blog.google", GOOGLE, "Google", "blog.google"),
    # Microsoft / LinkedIn.
    ("www.linkedin.com", MICROSOFT, "LinkedIn", "linkedin.com"),
    ("lnkd.in", MICROSOFT, "LinkedIn", "lnkd.in"),
    ("media.licdn.com", MICROSOFT, "LinkedIn", "licdn.com"),
    ("linkedin.co.uk", MICROSOFT, "LinkedIn", "linkedin"),
    ("github.com", MICROSOFT, "Microsoft", "github.com"),
    ("raw.githubusercontent.com", MICROSOFT, "Microsoft", "githubusercontent.com"),
    ("www.bing.com", MICROSOFT, "Microsoft", "bing.com"),
    ("login.live.com", MICROSOFT, "Microsoft", "live.com"),
    ("microsoft.de", MICROSOFT, "Microsoft", "microsoft"),
    # Venmo / PayPal.
    ("venmo.com", PAYPAL, "Venmo", "venmo.com"),
    ("account.venmo.com", PAYPAL, "Venmo", "venmo.com"),
    ("www.paypal.com", PAYPAL, "PayPal", "paypal.com"),
    ("paypal.co.uk", PAYPAL, "PayPal", "paypal"),
    ("www.paypalobjects.com", PAYPAL, "PayPal", "paypalobjects.com"),
    ("paypal.me", PAYPAL, "PayPal", "paypal.me"),
    # Twitter.
    ("twitter.com", TWITTER, "Twitter (now X)", "twitter.com"),
    ("mobile.twitter.com", TWITTER, "Twitter (now X)", "twitter.com"),
    ("x.com", TWITTER, "Twitter (now X)", "x.com"),
    ("t.co", TWITTER, "Twitter (now X)", "t.co"),
    ("pbs.twimg.com", TWITTER, "Twitter (now X)", "twimg.com"),
    ("twitter.co.jp", TWITTER, "Twitter (now X)", "twitter"),
    ("www.periscope.tv", TWITTER, "Other Twitter, Inc. services", "periscope.tv"),
    # Forms a canonical host never has, but match() forgives: case, final dot, Unicode.
    ("WWW.YOUTUBE.COM", GOOGLE, "YouTube", "youtube.com"),
    ("www.youtube.com.", GOOGLE, "YouTube", "youtube.com"),
    ("ｗｗｗ.ｙｏｕｔｕｂｅ.com", GOOGLE, "YouTube", "youtube.com"),  # full-width, NFKC
]


@pytest.mark.parametrize(("host", "notice_id", "scope", "matched"), COVERED)
def test_covered_hosts(registry, host, notice_id, scope, matched):
    hits = registry.match(host, on=ON)
    assert [(h.notice_id, h.scope_label, h.matched, h.active) for h in hits] == [
        (notice_id, scope, matched, True)
    ]


NOT_COVERED = [
    "example.org",
    "notgoogle.com",
    "googlex.com",
    "google-com.example",
    "google.com.evil.example",
    "google.evil.example",  # not a public suffix
    "google.herokuapp.com",  # brand under a private suffix: someone else's
    "evilgoogle.co.uk",
    "www.google.co.uk.evil.example",
    "youtube.com.attacker.net",
    "youtubecom.example",
    "notyoutube.com",
    "xn--ggle-0nda.com",  # gооgle.com, Cyrillic o's
    "xn--yutube-wqf.com",  # yоutube.com, Cyrillic o
    "gооgle.com",  # the same, in Unicode
    "linkedin.com.evil.example",
    "mylinkedin.com",
    "t.co.evil.example",
    "at.co",
    "x.com.evil.example",
    "xx.com",
    "venmo.com-secure.example",
    "paypal-login.example",
    "twitter.evil.example",
    "ttwitter.com",
    "google",  # a brand TLD itself is no registrable domain
    "com",
    "localhost",
    "",
    "google..com",
]


@pytest.mark.parametrize("host", NOT_COVERED)
def test_look_alikes_are_not_covered(registry, host):
    assert registry.match(host, on=ON) == []


def test_private_suffix_host_matches_only_its_owner(registry):
    # google.github.io is a GitHub Pages site: GitHub's (Microsoft) domain, not Google's brand.
    assert _ids(registry.match("google.github.io", on=ON)) == [MICROSOFT]


def test_most_specific_entry_is_reported_once_per_scope(registry):
    hits = registry.match("www.google.com", on=ON)
    assert [(h.scope_label, h.matched) for h in hits] == [("Google", "google.com")]


def test_hit_points_at_the_matched_line(registry):
    (hit,) = registry.match("www.youtube.com", on=ON)
    assert hit.source == str(REPO / "policies" / "notices" / f"{GOOGLE}.yaml")
    assert hit.issuer == "YouTube, LLC"
    assert hit.status == "active"
    line = Path(hit.source).read_text(encoding="utf-8").splitlines()[hit.line - 1]
    assert line.strip() == "- youtube.com"


def test_ip_literals_are_not_matched_by_names(registry):
    assert registry.match("142.250.72.14", is_ip=True, on=ON) == []
    assert registry.match("[2607:f8b0:4004:c07::66]", is_ip=True, on=ON) == []
