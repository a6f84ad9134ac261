"""Findings to reasons: deny the purposes a finding binds, unless an agreement lifts it.

Every reason names the signal, its value and where it came from (file and
line, header, meta tag, licence), in its message and in ``extra`` fields the
audit log writes (``signal``, ``value``, ``where``, ``binds``); an override
adds ``agreement`` and ``override``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crawler_compliance._decision import Check, Outcome, Reason
from crawler_compliance._purpose import Purpose
from crawler_compliance.signals._table import Finding, Signal

__all__ = ["Override", "reasons_for"]


class Override:
    """An agreement lifting one signal (built from a policy ``SignalOverride``)."""

    __slots__ = ("agreement", "licence", "record", "reference", "signal")

    def __init__(
        self,
        signal: Signal,
        reference: str,
        *,
        agreement: str,
        record: str,
        licence: str | None = None,
    ) -> None:
        self.signal = signal
        self.reference = reference
        self.agreement = agreement
        self.record = record
        self.licence = licence

    def lifts(self, finding: Finding) -> bool:
        if finding.signal is not self.signal:
            return False
        return self.signal is not Signal.RSL or finding.licence == self.licence

    @classmethod
    def from_policy(cls, record: Any, permission: Any) -> list[Override]:
        return [
            cls(
                Signal(item.signal),
                item.reference,
                agreement=permission.agreement,
                record=record.id,
                licence=item.licence,
            )
            for item in permission.overrides
        ]


def _extra(finding: Finding) -> tuple[tuple[str, Any], ...]:
    extra: list[tuple[str, Any]] = [
        ("signal", finding.signal.value),
        ("value", finding.value),
        ("where", finding.where),
    ]
    if finding.binds:
        extra.append(("binds", sorted(p.value for p in finding.binds)))
    if finding.licence:
        extra.append(("licence", finding.licence))
    return tuple(extra)


def reasons_for(
    findings: Iterable[Finding],
    purpose: Purpose | None,
    *,
    overrides: Sequence[Override] = (),
    check: Check = Check.OPT_OUT,
    fetched: bool = False,
    honoured: frozenset[Signal] | None = None,
) -> list[Reason]:
    """A DENY for each finding that binds *purpose* (and is not lifted), INFO for the rest.

    ``fetched``: the response was already downloaded, so a deny says it was
    discarded. ``honoured``: when given, signals outside it are recorded as
    information only (the policy turned them off).
    """
    reasons = []
    for finding in findings:
        detail = f" ({finding.detail})" if finding.detail else ""
        said = f"{finding.signal.value} {finding.value!r} in {finding.where}{detail}"
        binds = purpose is not None and purpose in finding.binds
        if binds and honoured is not None and finding.signal not in honoured:
            reasons.append(
                Reason(
                    check,
                    Outcome.INFO,
                    f"{said} would refuse purpose {purpose} but the policy does not honour "
                    f"{finding.signal.value} for it",
                    rule=finding.value,
                    source=finding.source,
                    line=finding.line,
                    extra=_extra(finding),
                )
            )
            continue
        if not binds:
            reasons.append(
                Reason(
                    check,
                    Outcome.INFO,
                    f"{said}: does not bind purpose {purpose}",
                    rule=finding.value,
                    source=finding.source,
                    line=finding.line,
                    extra=_extra(finding),
                )
            )
            continue
        lifted = next((o for o in overrides if o.lifts(finding)), None)
        if lifted is not None:
            reasons.append(
                Reason(
                    check,
                    Outcome.INFO,
                    f"{said} would refuse purpose {purpose}; overridden by agreement "
                    f"{lifted.agreement!r} ({lifted.reference}) in site record {lifted.record!r}",
                    rule=finding.value,
                    source=finding.source,
                    line=finding.line,
                    extra=(
                        *_extra(finding),
                        ("agreement", lifted.agreement),
                        ("override", lifted.reference),
                    ),
                )
            )
            continue
        tail = ": content fetched and discarded" if fetched else ""
        reasons.append(
            Reason(
                check,
                Outcome.DENY,
                f"the site opts out of this use: {said} refuses purpose {purpose}{tail}",
                rule=finding.value,
                source=finding.source,
                line=finding.line,
                extra=_extra(finding),
            )
        )
    return reasons
