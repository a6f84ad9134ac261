"""Shared state in Redis: per-origin site files, Crawl-delay slots, the active policy.

Three small stores behind one connection, each usable on its own:

- :meth:`RedisState.shared_file`: one fetch per key cluster-wide. The first
  worker takes a lock (``SET NX PX``: it expires, so a dead worker cannot
  hold it for ever), fetches, stores the outcome with its TTL and releases
  the lock; the others poll for the stored value within a bounded budget and
  take the lock over if it expires without a value.
- :meth:`RedisState.reserve_slot`: the next allowed fetch time per origin,
  reserved by a Lua script on the Redis clock, so requests to one origin are
  spaced by its delay whichever workers send them.
- :meth:`RedisState.published_policy` / :meth:`publish_policy`: the policy
  fingerprint the cluster runs with.

Every value is JSON with an HMAC-SHA256 (bound to its Redis key) in front:
a value that does not verify is never parsed, only reported; nothing is
pickled. The key is ``COMPLIANCE_REDIS_KEY`` when set; otherwise a random key
is created once per cluster in Redis (``<prefix>:hmac-key``): that keeps out
data other tools or older formats left, though not someone who can write to
Redis (set the key for that). Every Redis call is retried until a deadline
and then raises :class:`ClusterUnavailable`: callers deny.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from crawler_compliance.cluster._config import safe_redis_url

T = TypeVar("T")

# KEYS[1]: the origin's next free slot (server clock, µs); KEYS[2]: when this Redis's
# slot data began (set once; gone after Redis lost its data). ARGV[1]: spacing, µs.
# A slot is granted at most one spacing ahead (else: "ask again in N µs", returned
# negative), so no reservation made before a data loss lies more than one spacing
# after it; a missing slot key within two spacings of the data's beginning is
# therefore treated as busy until then. The slot key lives until its slot plus one
# spacing has passed: when it is missing later, the last request is long gone.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
redis.call('SET', KEYS[2], string.format('%d', now), 'NX')
local epoch = tonumber(redis.call('GET', KEYS[2]))
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = now
if nxt == 0 and now < epoch + 2 * spacing then start = epoch + 2 * spacing end
if nxt > start then start = nxt end
if start > now + spacing then return now + spacing - start end
redis.call('SET', KEYS[1], string.format('%d', start + spacing),
           'PX', math.floor((start + 2 * spacing - now) / 1000) + 1)
return start - now
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


class ClusterUnavailable(Exception):
    """Shared state could not be read or written within the budget: deny."""


class SignedCodec:
    """``<hmac hex>.<canonical json>``; the MAC covers the Redis key and the JSON."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, name: str, payload: bytes) -> bytes:
        message = name.encode() + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).hexdigest().encode()

    def dumps(self, name: str, value: dict[str, Any]) -> bytes:
        payload = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return self._mac(name, payload) + b"." + payload

    def loads(self, name: str, data: bytes | None) -> dict[str, Any] | None:
        """The value, or ``None`` when absent; raises ``ValueError`` when it does not verify."""
        if data is None:
            return None
        mac, sep, payload = data.partition(b".")
        if not sep or not hmac.compare_digest(mac, self._mac(name, payload)):
            raise ValueError(f"the value at {name!r} was not stored by crawler-compliance "
                             "with this cluster's key (or was altered): ignored")  # fmt: skip
        value = json.loads(payload)
        if type(value) is not dict:
            raise ValueError(f"the value at {name!r} is not an object")
        return value


class RedisState:
    """The cluster's shared state on one Redis (``redis.asyncio``; asyncio reactor)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        key: bytes | None = None,
        wait: float = 10.0,
        poll: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis.asyncio as aioredis  # the cluster extra

        self._redis_errors: tuple[type[BaseException], ...] = (
            aioredis.RedisError,
            OSError,
            asyncio.TimeoutError,
        )
        self.where = safe_redis_url(url)
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, retry_on_timeout=False
        )
        self.prefix = prefix
        self._fixed_key = key
        self._codec: SignedCodec | None = SignedCodec(key) if key else None
        self.wait = wait
        self._poll = poll
        self._clock = clock
        self._reserve = self._client.register_script(_RESERVE)
        self._release = self._client.register_script(_RELEASE)
        self.errors = 0
        self.last_error: str | None = None

    def name(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- retries within a budget ----------------------------------------------------

    async def _retry(self, what: str, call: Callable[[], Awaitable[T]], budget: float) -> T:
        deadline = self._clock() + budget
        delay = self._poll
        while True:
            try:
                return await call()
            except self._redis_errors as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                if self._clock() + delay > deadline:
                    raise ClusterUnavailable(
                        f"Redis {self.where} unavailable for {budget:g}s ({what}): "
                        f"{self.last_error}"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    async def codec(self) -> SignedCodec:
        if self._codec is None:
            name = self.name("hmac-key")

            async def fetch_key() -> bytes:
                await self._client.set(name, secrets.token_hex(32), nx=True)
                value = await self._client.get(name)
                if not value:
                    raise OSError("the cluster key vanished (Redis restarted?)")
                return _as_bytes(value) or b""

            self._codec = SignedCodec(await self._retry("cluster key", fetch_key, self.wait))
        return self._codec

    def forget_derived_key(self) -> None:
        """After Redis lost everything, a derived key must be read (or made) again."""
        if self._fixed_key is None:
            self._codec = None

    # -- one fetch per key, cluster-wide -----------------------------------------------

    async def shared_file(
        self,
        kind: str,
        key: str,
        fetch: Callable[[], Awaitable[tuple[dict[str, Any], float]]],
        *,
        lock_ttl: float,
    ) -> tuple[dict[str, Any], bool]:
        """The stored value for ``kind``/``key``, or fetch it (only one worker does).

        ``fetch()`` returns ``(value, ttl seconds)``; a ttl ≤ 0 is not stored.
        Returns ``(value, fetched_here)``. Waits at most ``lock_ttl`` plus the
        budget for another worker's fetch; raises :class:`ClusterUnavailable`.
        """
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        value_name = self.name(kind, digest)
        lock_name = self.name(kind + "-lock", digest)
        token = secrets.token_hex(16)
        deadline = self._clock() + lock_ttl + self.wait
        while True:
            codec = await self.codec()
            raw = _as_bytes(
                await self._retry(kind, lambda: self._client.get(value_name), self.wait)
            )
            try:
                stored = codec.loads(value_name, raw)
            except ValueError:
                stored = None  # not ours: never parsed; fetched afresh below
            if stored is not None and stored.get("key") == key:
                return stored["value"], False
            set_lock = functools.partial(
                self._client.set, lock_name, token, nx=True, px=max(1, round(lock_ttl * 1000))
            )
            if await self._retry(kind + " lock", set_lock, self.wait):
                try:
                    value, ttl = await fetch()
                    if ttl > 0:
                        data = codec.dumps(value_name, {"key": key, "value": value})
                        store = functools.partial(
                            self._client.set, value_name, data, px=max(1, round(ttl * 1000))
                        )
                        await self._retry(kind, store, self.wait)
                finally:
                    unlock = functools.partial(self._release, keys=[lock_name], args=[token])
                    with contextlib.suppress(ClusterUnavailable):  # it expires by itself
                        await self._retry(kind + " unlock", unlock, self.wait)
                return value, True
            if self._clock() > deadline:
                raise ClusterUnavailable(
                    f"no {kind} result for {key} from the worker fetching it within "
                    f"{lock_ttl + self.wait:g}s"
                )
            await asyncio.sleep(self._poll)

    # -- Crawl-delay across workers ----------------------------------------------------

    async def reserve_slot(self, origin: str, spacing: float) -> float:
        """Reserve the next fetch slot for ``origin``; return how long to wait for it.

        While the origin's queue is more than one spacing long, this waits
        (without holding a slot) and asks again.
        """
        name = self.name("slot", hashlib.sha256(origin.encode()).hexdigest()[:40])
        keys = [name, self.name("slot-epoch")]
        micros = max(1, round(spacing * 1_000_000))
        while True:
            reserve = functools.partial(self._reserve, keys=keys, args=[micros])
            waited = int(await self._retry("crawl-delay slot", reserve, self.wait))
            if waited >= 0:
                return waited / 1_000_000
            await asyncio.sleep(-waited / 1_000_000)

    # -- the active policy ----------------------------------------------------------------

    async def published_policy(self, budget: float | None = None) -> str | None:
        """The fingerprint the cluster runs with (``None``: none published)."""
        name = self.name("policy")
        codec = await self.codec()
        budget = self.wait if budget is None else budget
        raw = _as_bytes(await self._retry("policy version", lambda: self._client.get(name), budget))
        try:
            value = codec.loads(name, raw)
        except ValueError as exc:
            raise ClusterUnavailable(str(exc)) from None
        if value is None:
            return None
        fingerprint = value.get("fingerprint")
        return fingerprint if isinstance(fingerprint, str) else None

    async def publish_policy(self, fingerprint: str, *, only_if_absent: bool = False) -> bool:
        name = self.name("policy")
        codec = await self.codec()
        data = codec.dumps(name, {"fingerprint": fingerprint, "published": time.time()})
        result = await self._retry(
            "policy version", lambda: self._client.set(name, data, nx=only_if_absent), self.wait
        )
        return bool(result)
