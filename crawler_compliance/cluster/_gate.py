"""The policy version gate: decide only with the policy the cluster runs with.

A worker confirms the published fingerprint at most ``interval`` seconds
before each decision (lazily: the first decision after the interval asks
Redis, the others in the meantime reuse the answer), so a published change
reaches every deciding worker within ``interval`` seconds. When the
published version differs from the worker's own, ``reload()`` (the adapter's
policy loader) is tried once per interval; until the versions agree, or
while the version cannot be confirmed, :meth:`PolicyGate.check` returns a
deny reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from crawler_compliance._decision import Check, Outcome, Reason
from crawler_compliance.cluster._redis_state import ClusterUnavailable, RedisState


class PolicyGate:
    def __init__(
        self,
        state: RedisState,
        *,
        interval: float,
        own: Callable[[], str],
        reload: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self.interval = interval
        self._own = own  # the fingerprint this worker decides with now
        self._reload = reload  # load the policy again, hoping for this fingerprint
        self._clock = clock
        self._confirmed_at = float("-inf")
        self.published: str | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._last_reload = float("-inf")
        self.problem: str | None = None
        self.changes = 0

    async def check(self) -> Reason | None:
        """``None`` when this worker's policy is confirmed current, else the reason to deny."""
        if self._clock() - self._confirmed_at >= self.interval:
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
            refreshing = self._refreshing
            try:
                await asyncio.shield(refreshing)
            finally:
                if self._refreshing is refreshing and refreshing.done():
                    self._refreshing = None
        own = self._own()
        if self._clock() - self._confirmed_at >= self.interval + self._state.wait:
            return Reason(
                Check.POLICY,
                Outcome.DENY,
                "cannot confirm the cluster's active policy version "
                f"({self.problem or 'Redis unavailable'}): not deciding with a policy that "
                "may be stale",
            )
        if self.published != own:
            return Reason(
                Check.POLICY,
                Outcome.DENY,
                f"the cluster runs policy {str(self.published)[:12]}, this worker has "
                f"{own[:12]}: not deciding until it has loaded the published policy",
            )
        return None

    async def _refresh(self) -> None:
        own = self._own()
        try:
            published = await self._state.published_policy()
            if published is None:  # first worker, or Redis lost its data: publish ours
                self._state.forget_derived_key()
                await self._state.publish_policy(own, only_if_absent=True)
                published = await self._state.published_policy()
        except ClusterUnavailable as exc:
            self.problem = str(exc)
            return
        self.problem = None
        self._confirmed_at = self._clock()
        if published != self.published and self.published is not None:
            self.changes += 1
        self.published = published
        reload_due = self._clock() - self._last_reload >= self.interval
        if published is not None and published != own and reload_due:
            self._last_reload = self._clock()
            await self._reload(published)
