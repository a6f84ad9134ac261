"""The Redis stores against a real redis-server: one fetch per key, slots, signed values."""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from tests.cluster.servers import RedisServer, free_port

pytest.importorskip("redis")

from crawler_compliance.cluster._redis_state import (  # noqa: E402
    ClusterUnavailable,
    RedisState,
    SignedCodec,
)

KEY = b"k" * 32


def _state(url: str, **kwargs: object) -> RedisState:
    return RedisState(url, prefix="cc-test", key=KEY, **kwargs)  # type: ignore[arg-type]


@deferred_f_from_coro_f
async def test_one_fetch_per_key_across_workers(redis_url: str) -> None:
    workers = [_state(redis_url) for _ in range(4)]
    fetches = []

    async def fetch() -> tuple[dict[str, object], float]:
        fetches.append(1)
        await asyncio.sleep(0.3)
        return {"status": 200}, 60.0

    results = await asyncio.gather(
        *(w.shared_file("robots", "http://a.example", fetch, lock_ttl=5) for w in workers * 3)
    )
    assert len(fetches) == 1
    assert all(value == {"status": 200} for value, _ in results)
    assert sum(here for _, here in results) == 1
    for w in workers:
        await w.aclose()


@deferred_f_from_coro_f
async def test_a_dead_workers_lock_expires(redis_url: str) -> None:
    import redis

    state = _state(redis_url)
    key = "http://dead.example"
    # Another worker took the lock and died: the lock expires, we take over.
    import hashlib

    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    client = redis.Redis.from_url(redis_url)
    client.set(f"cc-test:robots-lock:{digest}", "someone", px=600)
    client.close()

    async def fetch() -> tuple[dict[str, object], float]:
        return {"status": 404}, 60.0

    started = time.monotonic()
    value, here = await state.shared_file("robots", key, fetch, lock_ttl=0.6)
    assert here and value == {"status": 404}
    assert 0.4 < time.monotonic() - started < 5
    await state.aclose()


@deferred_f_from_coro_f
async def test_a_value_not_signed_with_the_cluster_key_is_never_used(redis_url: str) -> None:
    import hashlib

    import redis

    key = "http://forged.example"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    name = f"cc-test:robots:{digest}"
    forged = SignedCodec(b"x" * 32).dumps(name, {"key": key, "value": {"status": 200}})
    client = redis.Redis.from_url(redis_url)
    client.set(name, forged)
    client.close()
    fetched = []

    async def fetch() -> tuple[dict[str, object], float]:
        fetched.append(1)
        return {"status": 503}, 60.0

    state = _state(redis_url)
    value, here = await state.shared_file("robots", key, fetch, lock_ttl=5)
    assert fetched == [1] and here and value == {"status": 503}
    await state.aclose()


def test_the_codec_binds_values_to_their_key() -> None:
    codec = SignedCodec(KEY)
    data = codec.dumps("a", {"x": 1})
    assert codec.loads("a", data) == {"x": 1}
    with pytest.raises(ValueError, match="not stored by crawler-compliance"):
        codec.loads("b", data)  # moved to another key
    with pytest.raises(ValueError):
        codec.loads("a", data.replace(b'"x":1', b'"x":2'))
    with pytest.raises(ValueError):
        codec.loads("a", b"\x80\x04pickle")


@deferred_f_from_coro_f
async def test_slots_are_spaced_across_workers(redis_url: str) -> None:
    workers = [_state(redis_url) for _ in range(3)]
    sent: list[float] = []

    async def one(w: RedisState) -> None:
        wait = await w.reserve_slot("http://slow.example", 0.1)
        await asyncio.sleep(wait)
        sent.append(time.monotonic())

    try:
        await asyncio.gather(*(one(w) for w in workers * 3))
    finally:  # closed even when an assertion below fails (no stray sockets)
        for w in workers:
            await w.aclose()
    sent.sort()
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(sent) == 9, sent
    # Slots 0.1 s apart. A sleep that overshoots (a loaded machine) moves one
    # send late: the gap before it grows by what the one after it loses, so
    # each two neighbouring gaps still add up to two slots. Unspaced, all nine
    # would go at once.
    assert all(a + b >= 0.19 for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert min(gaps) >= 0.03 and sent[-1] - sent[0] >= 8 * 0.095, gaps


@deferred_f_from_coro_f
async def test_slots_stay_spaced_when_redis_loses_its_data(redis_url: str) -> None:
    import redis

    state = _state(redis_url)
    wait = await state.reserve_slot("http://o.example", 0.25)
    await asyncio.sleep(wait)
    first = time.monotonic()
    client = redis.Redis.from_url(redis_url)
    client.flushall()  # what a restart without persistence does
    client.close()
    wait = await state.reserve_slot("http://o.example", 0.25)
    await asyncio.sleep(wait)
    assert time.monotonic() - first >= 0.25
    await state.aclose()


@deferred_f_from_coro_f
async def test_unreachable_redis_raises_within_the_budget() -> None:
    state = _state(f"redis://127.0.0.1:{free_port()}/0", wait=0.5)
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match="unavailable for 0.5s"):
        await state.reserve_slot("http://o.example", 1)
    assert time.monotonic() - started < 3
    await state.aclose()


@deferred_f_from_coro_f
async def test_a_frozen_redis_is_waited_for_then_used(redis_server: RedisServer) -> None:
    state = _state(redis_server.url, wait=5)
    await state.publish_policy("a" * 64)
    redis_server.freeze()
    try:
        task = asyncio.ensure_future(state.published_policy())
        await asyncio.sleep(1.5)
        assert not task.done()
    finally:
        redis_server.thaw()
    assert await task == "a" * 64
    await state.aclose()
