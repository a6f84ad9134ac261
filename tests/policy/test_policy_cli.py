"""``crawler-compliance validate`` and ``schema``: exit codes, output, schema coverage."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from crawler_compliance.cli import main
from crawler_compliance.policy import Notice, PolicyConfig, SiteRecord
from crawler_compliance.policy._errors import _unwrap

REPO = Path(__file__).resolve().parents[2]


def test_validate_shipped_policies(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == "policies/: valid (4 notices, 4 site records)\n"


def test_validate_invalid_directory_prints_every_error(policy_dir, capsys):
    policy_dir.write("sites/a.yaml", "id: a\ndomains: [a.example]\nnmae: A\n")
    policy_dir.write("sites/b.yaml", "id: b\n")
    assert main(["validate", "pol"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "pol/sites/a.yaml:3:1: nmae: unknown field 'nmae' (did you mean 'name'?)",
        "pol/sites/b.yaml:1:1: domains: required field is missing",
        "pol: invalid (2 errors in 2 files)",
    ]


def test_validate_valid_directory_counts_in_singular(policy_dir, capsys):
    policy_dir.write("sites/a.yaml", "id: a\ndomains: [a.example]\n")
    assert main(["validate", "pol"]) == 0
    assert capsys.readouterr().out == "pol: valid (0 notices, 1 site record)\n"


def test_validate_missing_directory_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["validate", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"crawler-compliance validate: {missing}: does not exist\n"


def test_schema_rejects_an_unknown_kind(capsys):
    with pytest.raises(SystemExit) as info:
        main(["schema", "--kind", "robots"])
    assert info.value.code == 2


def _field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        paths.add(prefix + name)
        inner = _unwrap(field.annotation)
        if typing.get_origin(inner) is list:
            inner = _unwrap(typing.get_args(inner)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            paths |= _field_paths(inner, f"{prefix}{name}.")
    return paths


def _schema_paths(schema: dict, node: dict, prefix: str = "") -> set[str]:
    paths = set()
    for name, prop in node.get("properties", {}).items():
        assert prop.get("description"), f"{prefix}{name} has no description"
        paths.add(prefix + name)
        for option in [prop, *prop.get("anyOf", [])]:
            target = option.get("items", option)
            ref = target.get("$ref")
            if ref:
                sub = schema["$defs"][ref.rsplit("/", 1)[1]]
                assert sub.get("additionalProperties") is False
                paths |= _schema_paths(schema, sub, f"{prefix}{name}.")
    return paths


@pytest.mark.parametrize(
    ("kind", "model"), [("policy", PolicyConfig), ("notice", Notice), ("site", SiteRecord)]
)
def test_schema_is_json_and_documents_every_field(capsys, kind, model):
    assert main(["schema", "--kind", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert _schema_paths(schema, schema) == _field_paths(model)


def test_schema_all_holds_the_three_kinds(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert sorted(schema) == ["notice", "policy", "site"]
    assert schema["notice"]["required"] == ["id", "issuer", "received", "status", "scopes"]


def test_docs_describe_every_field():
    docs = (REPO / "README.md").read_text(encoding="utf-8")
    for model in (PolicyConfig, Notice, SiteRecord):
        for path in sorted(_field_paths(model)):
            assert f"`{path}`" in docs, f"README.md does not document `{path}`"
