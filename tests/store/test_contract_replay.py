"""The `ReplayCache` contract: one-time values seen before, until they expire."""

from __future__ import annotations

import pytest
from store_support import Backend, FakeClock, at, key, purged

from ib_oauth_bridge.store import Store

pytestmark = pytest.mark.anyio


async def test_remember_first_true_then_false(store: Store) -> None:
    k = key()
    assert await store.remember(k, at(60)) is True
    assert await store.remember(k, at(60)) is False
    assert await store.remember(k, at(600)) is False  # a later expiry is no way back in


async def test_keys_are_independent(store: Store) -> None:
    k1, k2 = key(), key()
    assert await store.remember(k1, at(60)) is True
    assert await store.remember(k2, at(60)) is True
    assert await store.remember(k1, at(60)) is False


async def test_expired_key_can_be_used_again(store: Store, clock: FakeClock) -> None:
    k = key()
    assert await store.remember(k, at(60)) is True
    clock.advance(59)
    assert await store.remember(k, at(120)) is False
    clock.advance(1)
    assert await store.remember(k, at(120)) is True  # without waiting for a purge

    # ...and is then remembered until its new expiry, not its old one.
    clock.advance(59)
    assert await store.remember(k, at(200)) is False
    clock.advance(1)
    assert await store.remember(k, at(200)) is True


async def test_purge_forgets_only_expired_keys(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    short, long = key(), key()
    await store.remember(short, at(10))
    await store.remember(long, at(100))
    clock.advance(10)
    assert await store.purge_expired() == purged(backend, 1)
    assert await store.remember(long, at(100)) is False
