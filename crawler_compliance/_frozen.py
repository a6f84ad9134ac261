"""Frozen dataclasses built on the per-request path.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
about 0.1 µs a field. The decision, the canonical URL and the robots.txt match
are built for every request, so they are filled at once instead: the same
object as ``cls(**fields)`` (the tests compare them), frozen from then on.
The caller's dict (a literal, built for this object) becomes the object's
own: nothing is copied, and no keyword arguments are packed on the way.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_new = object.__new__
_set = object.__setattr__


# What filled() does in two steps, for the two hottest callers (canonicalize,
# decide), which write them in line: one Python call fewer per request each.
new_object = _new
adopt_dict = _set


def filled(cls: type[T], fields: dict[str, Any]) -> T:
    """``cls(**fields)`` for a frozen dataclass with no ``__post_init__``, every field given.

    *fields* must be a new dict made for this call: it becomes the object's ``__dict__``.
    """
    made: T = _new(cls)
    _set(made, "__dict__", fields)
    return made
