"""Rate limits per key (a client IP, say), on the `limits` library's moving window.

One `RateLimiter` per limited thing: `await limiter.hit(key)` counts one request and answers
None while the key is within its limit, or how many seconds to wait (for `Retry-After`) once
it is not. Counts live in this process's memory (`async+memory://`): each worker limits on its
own, and a restart forgets. A `limits` storage URI such as `async+redis://...` shares them.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class RateLimiter:
    def __init__(
        self, limit: str | RateLimitItem, *, name: str, storage_uri: str = "async+memory://"
    ) -> None:
        """`limit` as `limits` writes it ("10/minute", "100 per hour"); `name` keeps the
        counts of different limiters apart in a shared storage."""
        self.item = parse(limit) if isinstance(limit, str) else limit
        self.name = name
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def __str__(self) -> str:
        return str(self.item)

    async def hit(self, key: str) -> int | None:
        """Count one request for `key`: None when allowed, else the seconds until one more
        would be (at least 1)."""
        if await self._limiter.hit(self.item, self.name, key):
            return None
        stats = await self._limiter.get_window_stats(self.item, self.name, key)
        # `limits` keeps its windows on the system clock, so the wait is measured on it too.
        return max(1, math.ceil(stats.reset_time - time.time()))
