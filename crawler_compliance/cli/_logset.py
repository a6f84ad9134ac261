"""Several audit logs as one cluster's record: ``audit verify | report FILE... | DIR``.

Each worker of a cluster without PostgreSQL writes its own log file
(``COMPLIANCE_AUDIT_LOG = "audit-%(worker)s.jsonl"``); each file, with its rotated
segments and its ``.checkpoints`` sidecar, is its own chain.
"""

from __future__ import annotations

import os


class LogSetError(ValueError):
    """The arguments name no audit log (an empty directory, a missing path)."""


def log_set(arguments: list[str]) -> list[str] | None:
    """The live log files *arguments* name, or None for one plain FILE (the
    single-file commands, unchanged). A directory stands for every live
    ``*.jsonl`` file in it: not rotated segments (``*.jsonl.000001``), not sidecars."""
    if len(arguments) == 1 and not os.path.isdir(arguments[0]):
        return None
    files: list[str] = []
    for argument in arguments:
        if os.path.isdir(argument):
            found = sorted(
                os.path.join(argument, name)
                for name in os.listdir(argument)
                if name.endswith(".jsonl") and os.path.isfile(os.path.join(argument, name))
            )
            if not found:
                raise LogSetError(f"cannot read {argument}: no *.jsonl audit log in this directory")
            files.extend(found)
        elif not os.path.isfile(argument):
            raise LogSetError(f"cannot read {argument}: no such file")
        else:
            files.append(argument)
    unique: dict[str, str] = {}
    for path in files:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())
