"""Hole 5: secrets planted everywhere in a real crawl reach no byte the crawl wrote.

Each secret is unique and planted in one place (userinfo, a path parameter,
query parameters under many spellings of their names, the fragment, redirect
targets, a robots.txt-denied URL whose reason quotes its query, request
headers, the proxy setting). After the crawl, every file of the audit log,
the stats, the crawl's own log lines, and the output of ``crawler-compliance
audit show / report / verify`` (text and JSON) are searched for each secret
in every encoding we could have written it in.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from crawler_compliance.audit import iter_records, verify_log
from crawler_compliance.cli import main as cli_main
from tests.loopback import LoopbackServer
from tests.scrapy.crawling import base_settings, crawl

pytestmark = pytest.mark.crawl

HOST = "news.example"
ROBOTS = "User-agent: *\nDisallow: /private/\n"

# (url, secrets that must never be written)
PLANTED = [
    ("http://UiUser0a1:UiPass0b2@news.example/articles/1", ["UiUser0a1", "UiPass0b2"]),
    ("http://news.example/articles/2;jsessionid=PpSess0c3", ["PpSess0c3"]),
    ("http://news.example/articles/3?q=cats&token=QTok0d4&page=2", ["QTok0d4"]),
    ("http://news.example/articles/4?Access_Token=QTok0e5", ["QTok0e5"]),
    ("http://news.example/articles/5?%74oken=QTok0f6", ["QTok0f6"]),
    ("http://news.example/articles/6?api_key=%51Key0g7", ["QKey0g7", "%51Key0g7"]),
    ("http://news.example/articles/7?\uff54\uff4f\uff4b\uff45\uff4e=QFw0h8", ["QFw0h8"]),
    ("http://news.example/articles/8?%2574oken=QDbl0i9", ["QDbl0i9"]),
    ("http://news.example/articles/9#access_token=Frag0j1", ["Frag0j1"]),
    ("http://news.example/articles/a'b?sig=QQuote0k2", ["QQuote0k2"]),
    ('http://news.example/articles/a"b?password=QDq0k3', ["QDq0k3"]),
    ("http://news.example/private/x?password=RPriv0l3", ["RPriv0l3"]),
    ("http://news.example/private/y;sid=RPriv0l4?x=1", ["RPriv0l4"]),
    ("http://news.example/go?session=RDir0m4", ["RDir0m4"]),
    ("http://news.example/articles/u?secret=%C3%BCn%C3%AFSecret0s1", ["ünïSecret0s1"]),
]
REDIRECT_SECRETS = ["RDir0n5", "RDir0n6", "RDir0n7"]
HEADER_SECRETS = {
    "Authorization": ("Bearer HAuth0o6", "HAuth0o6"),
    "Cookie": ("sid=HCook0p7; theme=dark", "HCook0p7"),
    "X-Api-Key": ("HKey0p8", "HKey0p8"),
}
PROXY_USER, PROXY_PASS = "PxUser0r8", "PxPass0r9"


def encodings(secret: str) -> set[str]:
    """The secret as raw text and in every encoding a writer could produce."""
    raw = secret.encode()
    forms = {secret, secret.lower(), secret.upper()}
    forms.add(quote(secret, safe=""))
    forms.add("".join(f"%{b:02X}" for b in raw))
    forms.add("".join(f"%{b:02x}" for b in raw))
    forms.add(quote(quote(secret, safe=""), safe=""))
    forms.add(json.dumps(secret)[1:-1])  # \\u escapes
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(raw.hex())
    for wrapped in (raw, b":" + raw, PROXY_USER.encode() + b":" + raw):
        for encoder in (base64.b64encode, base64.urlsafe_b64encode):
            text = encoder(wrapped).decode()
            forms.update({text, text.rstrip("=")})
    return {f for f in forms if len(f) >= 6}


def all_secrets() -> list[str]:
    found = [s for _, secrets in PLANTED for s in secrets]
    found += REDIRECT_SECRETS + [s for _, s in HEADER_SECRETS.values()]
    return [*found, PROXY_USER, PROXY_PASS]


def leaks(blob: str) -> list[str]:
    lowered = blob.lower()
    return sorted({s for s in all_secrets() for form in encodings(s) if form.lower() in lowered})


def routes(server: LoopbackServer) -> None:
    server.route(HOST, "/robots.txt", body=ROBOTS)
    for path in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "a'b", "u"):
        server.route(HOST, f"/articles/{path}", body="article")
    server.route(HOST, "/go", status=302, location="/hop1?code=RDir0n5")
    server.route(HOST, "/hop1", status=302, location="/hop2?x=1&token=RDir0n6")
    server.route(HOST, "/hop2", status=302, location="http://news.example/end'x?sig=RDir0n7")
    server.route(HOST, "/end'x", body="end")


def written_bytes(result, audit_path: Path, capsys) -> str:
    capsys.readouterr()
    blobs = [p.read_text(errors="replace") for p in sorted(audit_path.parent.iterdir())]
    blobs.append(repr(result.stats))
    for command in (
        ["show"],
        ["show", "--json"],
        ["show", "--denied"],
        ["report"],
        ["report", "--json"],
        ["verify"],
    ):
        assert cli_main(["audit", *command, str(audit_path)]) == 0, command
        captured = capsys.readouterr()
        blobs += [captured.out, captured.err]
    return "\n".join(blobs)


@deferred_f_from_coro_f
async def test_no_secret_reaches_the_audit_log_stats_or_audit_show(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, capsys
) -> None:
    routes(server)
    settings = base_settings(
        policy_dir,
        audit_path,
        COMPLIANCE_AUDIT_MAX_BYTES=4000,  # rotated files are searched too
        DEFAULT_REQUEST_HEADERS={name: value for name, (value, _) in HEADER_SECRETS.items()},
    )
    proxy = f"http://{PROXY_USER}:{PROXY_PASS}@127.0.0.1:{server.port}"
    result = await crawl(settings, [url for url, _ in PLANTED], proxy=proxy)

    # The crawl really ran: pages were fetched, the private ones denied, redirects followed.
    assert "/articles/3?q=cats&token=QTok0d4&page=2" in server.paths(HOST)
    assert not any(p.startswith("/private/") for p in server.paths(HOST))
    assert "/end'x?sig=RDir0n7" in server.paths(HOST)
    messages = [reason["message"] for r in iter_records(audit_path) for reason in r["reasons"]]
    assert any(m.startswith("line 2 disallows /private/x?password=REDACTED-") for m in messages)
    assert sum("redirected from" in m for m in messages) == 3
    assert len(list(audit_path.parent.glob("audit.jsonl.*"))) >= 1  # it rotated
    assert verify_log(audit_path).ok

    assert leaks(written_bytes(result, audit_path, capsys)) == []


@deferred_f_from_coro_f
async def test_no_secret_reaches_our_log_lines(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, caplog
) -> None:
    routes(server)
    caplog.set_level(logging.DEBUG)
    await crawl(
        base_settings(policy_dir, audit_path), [url for url, _ in PLANTED], proxy=server.proxy
    )
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("crawler_compliance")
    )
    assert "Denied by crawler-compliance" in ours
    assert leaks(ours) == []


@deferred_f_from_coro_f
async def test_proxy_credentials_with_hash_or_question_mark_are_never_written(
    server: LoopbackServer, policy_dir: Path, audit_path: Path, capsys
) -> None:
    routes(server)
    proxy = f"http://{PROXY_USER}:{PROXY_PASS}#x?y@127.0.0.1:{server.port}"
    result = await crawl(
        base_settings(policy_dir, audit_path), ["http://news.example/articles/1"], proxy=proxy
    )
    assert result.fetched_urls == ["http://news.example/articles/1"]
    assert leaks(written_bytes(result, audit_path, capsys)) == []
