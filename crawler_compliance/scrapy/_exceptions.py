"""The exception a denied request ends with."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest

from crawler_compliance._decision import Decision


class RequestDenied(IgnoreRequest):
    """A request crawler-compliance refused; ``.decision`` says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"Denied by crawler-compliance: {decision.summary()}")
        self.decision = decision
