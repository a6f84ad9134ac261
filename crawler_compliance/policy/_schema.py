"""JSON Schema of the three kinds of policy file, for editor completion and hover docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from crawler_compliance.policy._models import Notice, PolicyConfig, SiteRecord

KINDS: dict[str, tuple[type[BaseModel], str]] = {
    "policy": (PolicyConfig, "crawler-compliance policy.yaml"),
    "notice": (Notice, "crawler-compliance cease-and-desist notice (notices/*.yaml)"),
    "site": (SiteRecord, "crawler-compliance site record (sites/*.yaml)"),
}

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def policy_json_schema(kind: str = "all") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one kind of policy file.

    ``kind`` is ``"policy"``, ``"notice"`` or ``"site"``; ``"all"`` (default)
    returns a mapping of those three names to their schemas.
    """
    if kind == "all":
        return {name: policy_json_schema(name) for name in KINDS}
    try:
        model, title = KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown schema kind {kind!r}; expected one of {', '.join(KINDS)} or all"
        ) from None
    # mode="validation": what a file may contain (defaults are optional, dates are text).
    schema = model.model_json_schema(mode="validation")
    return {"$schema": _DIALECT, **schema, "title": title}
