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

# filled()'s two steps, which its two hottest callers (canonicalize, decide)
# write in line: one Python call fewer per request each.
new_object = object.__new__
set_attribute = object.__setattr__


def filled(cls: type[T], fields: dict[str, Any]) -> T:
    """``cls(**fields)`` for a frozen dataclass with no ``__post_init__``, every field given.

    *fields* must be a new dict made for this call: it becomes the object's ``__dict__``.
    """
    made: T = new_object(cls)
    set_attribute(made, "__dict__", fields)
    return made
