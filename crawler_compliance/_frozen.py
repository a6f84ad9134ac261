"""Frozen dataclasses built on the per-request path.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
about 0.1 µs a field. The decision, the canonical URL and the robots.txt match
are built for every request, so they are filled at once instead: the same
object as ``cls(**fields)`` (the tests compare them), frozen from then on.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_new = object.__new__


def filled(cls: type[T], **fields: Any) -> T:
    """``cls(**fields)`` for a frozen dataclass with no ``__post_init__``, every field given."""
    made: T = _new(cls)
    made.__dict__.update(fields)
    return made
