"""Rate limits follow the store: with a Redis store every bridge process counts in that Redis
(under the store's namespace), so a limit holds across workers and hosts; with SQLite each
process counts in its own memory."""

from __future__ import annotations

import pytest

from ib_oauth_bridge.ratelimit import RateLimits, storage_for
from ib_oauth_bridge.store.redis import redis_target
from redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def two_bridges(store_url: str) -> tuple[RateLimits, RateLimits]:
    """The limits of two bridge processes configured with the same store URL."""
    return (
        RateLimits(address_secret="s", **storage_for(store_url)),
        RateLimits(address_secret="s", **storage_for(store_url)),
    )


async def test_two_bridges_on_one_redis_count_together(redis_server: RedisServer) -> None:
    url = redis_server.url_for_test()
    a, b = two_bridges(url)
    on_a = a.limiter("3/minute", name="registration")
    on_b = b.limiter("3/minute", name="registration")
    assert await on_a.hit("addr-1") is None
    assert await on_b.hit("addr-1") is None
    assert await on_a.hit("addr-1") is None
    retry_after = await on_b.hit("addr-1")  # the fourth, wherever it lands
    assert retry_after is not None
    assert 1 <= retry_after <= 60
    assert await on_a.hit("addr-2") is None  # another key has its own count

    client = redis_server.client()
    try:
        keys = list(client.scan_iter("*registration*"))
    finally:
        client.close()
    namespace = redis_target(url).namespace
    assert keys
    assert all(k.startswith(f"{namespace}rl:") for k in keys)


async def test_sqlite_store_keeps_counts_per_process(tmp_path: object) -> None:
    a, b = two_bridges(f"sqlite:///{tmp_path}/bridge.db")
    on_a = a.limiter("1/minute", name="registration")
    on_b = b.limiter("1/minute", name="registration")
    assert await on_a.hit("addr-1") is None
    assert await on_b.hit("addr-1") is None  # a process of its own
    assert await on_a.hit("addr-1") is not None
