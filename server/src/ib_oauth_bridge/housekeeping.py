"""Housekeeping while the bridge runs: expired records purged every so often, not only at
start-up, so that a store under a flood of anonymous sign-in requests shrinks back on its own.

`purge_periodically` is the loop the app's lifespan runs as a task and cancels at shutdown.
Each wait is jittered (between half and one and a half intervals), so that the workers of one
host, started together, do not all purge at the same moment. Time is injected: `sleep` and
`random` are parameters, so tests run the loop without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections.abc import Awaitable, Callable

from .store import Store

log = logging.getLogger("ib_oauth_bridge")

Sleep = Callable[[float], Awaitable[None]]


def jittered(interval: float, random: Callable[[], float]) -> float:
    """A wait of `interval` give or take half of it: uniform in [0.5, 1.5) times interval."""
    return interval * (0.5 + random())


async def purge_once(store: Store) -> int:
    """Delete what has expired and log how much went; the count (0 on a store error, which
    is logged and left for the next round)."""
    try:
        purged = await store.purge_expired()
    except Exception:
        log.exception("purging expired records failed")
        return 0
    if purged:
        log.info("expired records purged", extra={"purged": purged})
    else:
        log.debug("expired records purged", extra={"purged": 0})
    return purged


async def purge_periodically(
    store: Store,
    interval: float,
    *,
    sleep: Sleep = asyncio.sleep,
    random: Callable[[], float] = _random.random,
) -> None:
    """Purge every `interval` seconds (jittered) until cancelled."""
    while True:
        await sleep(jittered(interval, random))
        await purge_once(store)
