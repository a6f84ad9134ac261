"""Real-world robots.txt files: never raises, always decides; differential against Protego.

Two corpora: the slice shipped in ``tests/robots/corpus/`` (420 files chosen
for variety, so these tests run on a clean clone, as CI does), and the full
collection (4,231 files from Protego's test data, BSD-3) when it is found:
``$CRAWLER_COMPLIANCE_CORPUS``, else ``shared/corpora/robots-real-world`` in a
directory above the checkout. The full-corpus tests skip without it.
"""

from __future__ import annotations

import collections
import gzip
import os
import re
from pathlib import Path

import pytest

from crawler_compliance.robots import RobotsTxt, product_token, robots_from_fetch

REPO = Path(__file__).resolve().parents[2]
SLICE = Path(__file__).resolve().parent / "corpus"
_NOT_ROBOTS = {"README.md", "INDEX.txt"}
AGENTS = ("Googlebot", "Bingbot", "MyCrawler")
FIXED_PATHS = (
    "/",
    "/index.html",
    "/search?q=x",
    "/admin/",
    "/wp-admin/admin-ajax.php",
    "/robots.txt",
)
_RULE_VALUE = re.compile(r"^\s*(?:dis)?allow\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def full_corpus_dir() -> Path | None:
    configured = os.environ.get("CRAWLER_COMPLIANCE_CORPUS")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for parent in REPO.parents:
        candidate = parent / "shared" / "corpora" / "robots-real-world"
        if candidate.is_dir():
            return candidate
    return None


def _read(directory: Path) -> list[tuple[str, bytes]]:
    return [
        (path.name, path.read_bytes())
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name not in _NOT_ROBOTS
    ]


@pytest.fixture(scope="module", params=["slice", pytest.param("full", marks=pytest.mark.corpus)])
def corpus(request: pytest.FixtureRequest) -> list[tuple[str, bytes]]:
    if request.param == "slice":
        return _read(SLICE)
    directory = full_corpus_dir()
    if directory is None:
        pytest.skip("full corpus not found (set CRAWLER_COMPLIANCE_CORPUS)")
    return _read(directory)


def _index() -> dict[str, str]:
    lines = (SLICE / "INDEX.txt").read_text().splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines)


def test_the_shipped_slice_is_small_and_varied() -> None:
    files = _read(SLICE)
    assert 300 <= len(files) <= 500
    assert sum(len(body) for _, body in files) < 1_000_000
    index = _index()
    assert {name for name, _ in files} == set(index)
    assert len(set(index.values())) >= 15


def urls_for(text: str, limit: int = 24) -> list[str]:
    """Fixed paths plus paths made from the file's own rules, so rules get exercised."""
    paths = list(FIXED_PATHS)
    for found in _RULE_VALUE.finditer(text, 0, 100_000):
        value = found[1].split("#")[0].replace("*", "x").rstrip("$")
        value = value if value.startswith("/") else "/" + value
        paths += [value, value + "z"]
    return ["https://example.com" + p for p in dict.fromkeys(paths)][:limit]


def test_corpus_never_raises_always_decides(corpus: list[tuple[str, bytes]]) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for name, body in corpus:
        result = robots_from_fetch(status=200, body=body)
        kinds[result.kind] += 1
        text = body.decode("utf-8", "ignore")
        for agent in AGENTS:
            for url in urls_for(text, limit=8):
                match = result.explain(url, agent)
                assert isinstance(match.allowed, bool), name
                assert match.allowed == result.allows(url, agent), (name, url, agent)
                if match.line is not None:
                    assert match.rule and match.group, (name, url)
            if result.robots is not None:
                delay = result.robots.crawl_delay(agent)
                assert delay is None or 0 <= delay <= 60
                result.robots.request_rate(agent)
                result.robots.content_signals(agent, "https://example.com/")
        if result.robots is not None:
            assert all(isinstance(s, str) for s in result.robots.sitemaps)
    assert kinds["rules"] >= 0.99 * len(corpus), kinds


def test_corpus_encodings_do_not_change_verdicts(corpus: list[tuple[str, bytes]]) -> None:
    """UTF-16 and gzip without Content-Encoding decide exactly like the UTF-8 original."""
    checked = 0
    for name, body in corpus[::7]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        original = RobotsTxt.parse(body)
        variants = (RobotsTxt.parse(text.encode("utf-16")), RobotsTxt.parse(gzip.compress(body)))
        for url in urls_for(text, limit=10):
            expected = original.allows(url, "MyCrawler")
            assert all(v.allows(url, "MyCrawler") == expected for v in variants), (name, url)
        checked += 1
    assert checked > len(corpus) // 14  # most files are UTF-8


# -- differential against Protego --------------------------------------------------------

#: Every class of disagreement with Protego, and why our verdict is the RFC 9309 one.
DISAGREEMENTS = {
    "bom": "The file starts with a UTF-8 BOM. Protego reads it as part of the first key, "
    "so the first user-agent line is lost and its group's rules go with it. "
    "RFC 9309 §2.2 files are UTF-8; a BOM is not content.",
    "group-split": "A Crawl-delay, Request-rate or unknown line between user-agent lines. "
    "Protego starts a new group there; RFC 9309 §2.1 ends a group only at a "
    "user-agent line that follows rules, so the agents share the rules.",
    "agent-substring": 'The file names a shorter agent ("bing", "Google") found inside '
    "ours. Protego matches it at a token boundary; RFC 9309 §2.2.1 "
    "matching is exact on the product token, so we use '*'.",
    "agent-version": 'A user-agent value with a version ("bingbot/2.0"). Protego compares '
    "the whole value; RFC 9309 §2.2.1 matches the product token, as "
    "Google does.",
    "index-html": "Protego treats 'Allow: /dir/index.html' as also allowing '/dir/'; "
    "RFC 9309 has no such rule, so the longest match decides.",
    "absolute-url-rule": "A rule written as an absolute URL ('Disallow: https://host/x'). "
    "Protego rewrites it to match paths starting '/https://host/x'; "
    "RFC 9309 rules are paths, so it matches nothing. Only the odd "
    "test paths made from such rules differ; real URLs decide alike.",
}

_KEEP_FOR_GROUPING = re.compile(r"^\s*(user[- _]?agent|allow|disallow|sitemap)\b", re.I)
_UA_LINE = re.compile(r"^(\s*user[- _]?agent\s*:?\s*)(.*)$", re.I)


def _only_rule_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if _KEEP_FOR_GROUPING.match(line))


def _agent_tokens(text: str) -> set[str]:
    return {product_token(m[2]).lower() for m in map(_UA_LINE.match, text.splitlines()) if m}


def _classify(text: str, agent: str, url: str, ours: bool, protego_parse) -> str:  # noqa: ANN001
    path = url.removeprefix("https://example.com")
    if path.startswith(("/http:", "/https:")):
        return "absolute-url-rule"
    without_bom = text.lstrip("\ufeff")
    if text != without_bom and protego_parse(without_bom).can_fetch(url, agent) == ours:
        return "bom"
    if protego_parse(_only_rule_lines(without_bom)).can_fetch(url, agent) == ours:
        return "group-split"
    lowered = agent.lower()
    if any(t and t != lowered and t in lowered for t in _agent_tokens(text)):
        return "agent-substring"
    if re.search(r"(?im)^\s*user[- _]?agent\s*:\s*" + re.escape(lowered) + r"[/ ]", text):
        return "agent-version"
    if path.endswith("/") and re.search(
        r"(?im)^\s*allow\s*:\s*" + re.escape(path) + r"index\.html?\s*$", text
    ):
        return "index-html"
    return "unclassified"


def test_differential_against_protego(corpus: list[tuple[str, bytes]]) -> None:
    protego = pytest.importorskip("protego")
    parsed: dict[str, object] = {}

    def protego_parse(text: str):  # noqa: ANN202
        if text not in parsed:
            parsed.clear()
            parsed[text] = protego.Protego.parse(text)
        return parsed[text]

    classes: collections.Counter[str] = collections.Counter()
    unclassified = []
    total = 0
    for name, body in corpus:
        # Scrapy's middleware decodes like this before handing text to Protego.
        text = body.decode("utf-8", "ignore")
        ours, theirs = RobotsTxt.parse(body), protego.Protego.parse(text)
        for agent in AGENTS:
            for url in urls_for(text):
                total += 1
                verdict = ours.allows(url, agent)
                if verdict == theirs.can_fetch(url, agent):
                    continue
                label = _classify(text, agent, url, verdict, protego_parse)
                classes[label] += 1
                if label == "unclassified":
                    unclassified.append((name, agent, url, verdict))
    assert not unclassified, unclassified[:20]
    assert set(classes) <= set(DISAGREEMENTS)
    # The engines agree on the overwhelming majority of real decisions (the
    # slice over-represents odd files, BOMs included: 2% there, 1% on the full set).
    share = 0.01 if len(corpus) > 1000 else 0.02
    assert sum(classes.values()) < share * total, classes


def test_allowing_names_what_explain_names(corpus: list[tuple[str, bytes]]) -> None:
    """The per-request shortcut (``RobotsTxt.allowing``) agrees with ``explain`` on real files:
    the same rule, line and group for every allow; ``None`` for every deny."""
    allows = denies = 0
    for name, body in corpus:
        result = robots_from_fetch(status=200, body=body)
        if result.robots is None:
            continue
        text = body.decode("utf-8", "ignore")
        for agent in AGENTS:
            for url in urls_for(text, limit=8):
                match = result.robots.explain(url, agent)
                found = result.robots.allowing(url, agent)
                if not match.allowed:
                    assert found is None, (name, url, agent)
                    denies += 1
                elif found is not None:
                    assert found == (match.line, match.rule, match.group), (name, url, agent)
                    allows += 1
                else:  # only the answers that are not a rule's: explain says why
                    assert match.line is None and match.group is None, (name, url, agent)
    assert allows > 10 * len(corpus) and denies > len(corpus) // 2, (allows, denies)
