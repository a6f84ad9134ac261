"""Policy errors, located and in plain words.

Every problem becomes a :class:`PolicyIssue` rendered gcc-style,
``path:line:col: field.path: message``, so editors and CI logs jump to it.
This module also turns pydantic's validation errors into such issues, using
the positions the YAML reader kept.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from crawler_compliance._domains import describe
from crawler_compliance.policy._models import FieldError
from crawler_compliance.policy._yaml import Path, Position


@dataclass(frozen=True, order=True)
class PolicyIssue:
    """One problem in the policy files.

    ``line`` and ``col`` are 1-based; a problem with a whole file points at 1:1.
    ``loc`` is the dotted field path (``scopes.0.domains.2``), empty for problems
    that are not about one field (invalid YAML, a missing file).
    """

    path: str
    line: int
    col: int
    loc: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}:"
        return f"{where} {self.loc}: {self.message}" if self.loc else f"{where} {self.message}"


class PolicyError(Exception):
    """The policy cannot be used; ``issues`` lists every problem found, in file order."""

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


# --- pydantic errors -> issues ------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` until a class or a ``list[...]`` remains."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None
            annotation = args[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``, if there is one."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            if typing.get_origin(current) is not list:
                return None
            current = typing.get_args(current)[0]
        else:
            if not (isinstance(current, type) and issubclass(current, BaseModel)):
                return None
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _suggest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _quoted(items: list[str]) -> str:
    return ", ".join(repr(item) for item in items)


# YAML 1.1 words that pydantic's lax mode (and old YAML readers) take as booleans.
_YAML11_TRUE = {"y", "yes", "on", "true", "t", "1"}
_YAML11_FALSE = {"n", "no", "off", "false", "0", "f"}


def _bool_hint(value: Any) -> str:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YAML11_TRUE:
            return " (write true: only true and false are yes/no values)"
        if word in _YAML11_FALSE:
            return " (write false: only true and false are yes/no values)"
    return ""


def _unquote_hint(value: Any, kind: type) -> str:
    """' (remove the quotes)' when a text would be a valid number without them."""
    if not isinstance(value, str):
        return ""
    try:
        kind(value.strip())
    except ValueError:
        return ""
    return " (remove the quotes)"


def _message(error: Mapping[str, Any], model: type[BaseModel], loc: Path) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = list(owner.model_fields) if owner else []
        key = str(loc[-1])
        guess = _suggest(key, allowed)
        if guess:
            return f"unknown field {key!r} (did you mean {guess!r}?)"
        return f"unknown field {key!r}; allowed fields: {', '.join(allowed)}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        text = str(ctx.get("expected", ""))
        expected = re.findall(r"'([^']*)'", text) or re.split(r", | or ", text)
        if len(expected) == 1 and not isinstance(value, str):
            return f"must be {expected[0]}, found {describe(value)}"
        if isinstance(value, str):
            guess = _suggest(value, expected)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            return f"{value!r} is not one of {_quoted(expected)}{hint}"
        return f"expected one of {_quoted(expected)}, found {describe(value)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_type":
        hint = " (put it in quotes)" if isinstance(value, (int, float, bool)) else ""
        return f"expected text, found {describe(value)}{hint}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, found {describe(value)}{_unquote_hint(value, int)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, found {describe(value)}{_unquote_hint(value, float)}"
    if kind == "finite_number":
        if value != value:
            return "must be a finite number, found not-a-number (.nan)"
        return "must be a finite number, found infinity (.inf, or a number too large)"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, found {describe(value)}{_bool_hint(value)}"
    if kind == "list_type":
        return f"expected a list, found {describe(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of fields, found {describe(value)}"
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        return f"needs at least {need} item{'s' if need != 1 else ''}, found none"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": ("more than", "gt"),
            "greater_than_equal": ("at least", "ge"),
            "less_than": ("less than", "lt"),
            "less_than_equal": ("at most", "le"),
        }[kind]
        return f"must be {words[0]} {ctx.get(words[1])}, found {value}"
    return str(error["msg"])  # pragma: no cover - every type our models raise is handled above


def _position(kind: str, loc: Path, positions: dict[Path, Position]) -> tuple[int, int]:
    if kind == "extra_forbidden" and loc in positions:
        key = positions[loc]
        return key.key_line, key.key_col
    if kind == "missing":
        loc = loc[:-1]  # the field is not there: point at the mapping that lacks it
    while loc not in positions and loc:
        loc = loc[:-1]
    pos = positions.get(loc)
    return (pos.line, pos.col) if pos else (1, 1)


def issues_from_validation(
    errors: Sequence[Mapping[str, Any]],
    model: type[BaseModel],
    display_path: str,
    positions: dict[Path, Position],
) -> list[PolicyIssue]:
    """Translate pydantic ``ValidationError.errors()`` into located issues."""
    issues = []
    for error in errors:
        loc: Path = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = (*loc, *cause.field)
        line, col = _position(error["type"], loc, positions)
        issues.append(
            PolicyIssue(display_path, line, col, dotted(loc), _message(error, model, loc))
        )
    return issues
