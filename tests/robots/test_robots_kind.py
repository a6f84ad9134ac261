"""Hole 9 (typed): robots.txt result kinds are an enum; a misspelt kind never allows."""

from __future__ import annotations

import json

import pytest

from crawler_compliance.robots import RobotsKind, RobotsResult, robots_from_fetch


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, RobotsKind.RULES), (404, RobotsKind.ALLOW_ALL), (503, RobotsKind.DISALLOW_ALL)],
)
def test_fetch_outcomes_have_typed_kinds(status: int, kind: RobotsKind) -> None:
    result = robots_from_fetch(status=status, body=b"User-agent: *\nDisallow: /x\n", now=0)
    assert result.kind is kind
    assert json.dumps(result.kind) == json.dumps(kind.value)  # still written as its text
    assert str(result.kind) == f"{result.kind}" == kind.value


@pytest.mark.parametrize("typo", ["Allow-All", "allow_all", "allow all", "rules ", ""])
def test_a_misspelt_kind_fails_at_construction(typo: str) -> None:
    with pytest.raises(ValueError):
        RobotsResult(typo, None, "typo", "200", None, 0.0, 1.0, True)  # type: ignore[arg-type]


def test_a_kind_given_as_its_text_is_converted() -> None:
    result = RobotsResult("allow-all", None, "404", "404", None, 0.0, 1.0, True)  # type: ignore[arg-type]
    assert result.kind is RobotsKind.ALLOW_ALL
    assert result.allows("https://e.example/x", "bot")
