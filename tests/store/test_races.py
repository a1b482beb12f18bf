"""Single-winner operations, raced by separate processes on one store (spawn, not fork).

Each racer opens its own handle, waits at a barrier, then tries every key once. A naive
read-then-write lets two racers win the same key now and then; KEYS_PER_RACE makes "now and
then" certain to show.
"""

from __future__ import annotations

import multiprocessing

import pytest
from store_support import (
    Backend,
    FakeClock,
    RaceOp,
    key,
    make_code,
    make_done,
    make_pending,
    make_token,
    race_worker,
)

from ib_oauth_bridge.store import Store

pytestmark = pytest.mark.anyio

RACERS = 8
KEYS_PER_RACE = 200


def run_race(backend: Backend, op: RaceOp, keys: list[str]) -> dict[int, list[bool]]:
    """Every racer's outcome per key, by racer number."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=race_worker, args=(backend, op, keys, barrier, racer, out))
        for racer in range(RACERS)
    ]
    for p in procs:
        p.start()
    try:
        results = dict(out.get(timeout=120) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    return results


def winners(results: dict[int, list[bool]], i: int) -> list[int]:
    return [racer for racer, won in results.items() if won[i]]


@pytest.mark.parametrize("op", ["code", "refresh_token"])
async def test_processes_race_for_single_use(store: Store, backend: Backend, op: RaceOp) -> None:
    keys = [key() for _ in range(KEYS_PER_RACE)]
    for k in keys:
        if op == "code":
            await store.put_code(k, make_code())
        else:
            await store.put_refresh_token(k, make_token())

    results = run_race(backend, op, keys)

    for i in range(KEYS_PER_RACE):
        assert len(winners(results, i)) == 1, f"key {i}: {winners(results, i)} got first_use"


async def test_processes_race_to_claim_a_poll(store: Store, backend: Backend) -> None:
    keys = [key() for _ in range(KEYS_PER_RACE)]
    for k in keys:
        await store.put_transaction(k, make_pending())

    results = run_race(backend, "claim_poll", keys)  # all at the same `now`

    for i in range(KEYS_PER_RACE):
        assert len(winners(results, i)) == 1, f"key {i}: {winners(results, i)} claimed"


async def test_processes_race_to_finish_a_login(store: Store, backend: Backend) -> None:
    keys = [key() for _ in range(KEYS_PER_RACE)]
    for k in keys:
        await store.put_transaction(k, make_pending())

    results = run_race(backend, "finish", keys)

    for i, k in enumerate(keys):
        won = winners(results, i)
        assert len(won) == 1, f"key {i}: {won} finished"
        # What is stored is the winner's result, not a loser's written over it.
        assert await store.get_transaction(k) == make_done(racer=won[0])


async def test_processes_race_to_remember(store: Store, backend: Backend) -> None:
    keys = [key() for _ in range(KEYS_PER_RACE)]

    results = run_race(backend, "remember", keys)

    for i in range(KEYS_PER_RACE):
        assert len(winners(results, i)) == 1, f"key {i}: {winners(results, i)} saw it first"


async def test_processes_race_to_reuse_an_expired_key(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    """Taking over an expired entry is as single-winner as inserting a new one."""
    keys = [key() for _ in range(KEYS_PER_RACE)]
    clock.advance(-10_000)  # remembered long ago, expired by the racers' clock
    for k in keys:
        assert await store.remember(k, clock.now + 1) is True

    results = run_race(backend, "remember", keys)

    for i in range(KEYS_PER_RACE):
        assert len(winners(results, i)) == 1, f"key {i}: {winners(results, i)} took it over"
