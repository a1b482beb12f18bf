"""Rate limits on a shared Redis that cannot answer: each limiter counts in this process's
memory meanwhile (neither lifted nor an error), and a bug in the storage is still an error."""

from __future__ import annotations

import pytest

from ib_oauth_bridge.ratelimit import RateLimits
from servers import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_limits_count_in_memory_while_redis_is_down() -> None:
    pytest.importorskip("redis")
    nobody = free_port()  # nothing listens there: every connection is refused
    rates = RateLimits(address_secret="s", storage_uri=f"async+redis://127.0.0.1:{nobody}/0",
                       implementation="redispy")
    limiter = rates.limiter("2/minute", name="t")
    assert await limiter.hit("k") is None
    assert await limiter.hit("k") is None
    retry_after = await limiter.hit("k")
    assert retry_after is not None
    assert retry_after >= 1
    assert await limiter.test("k") is not None
