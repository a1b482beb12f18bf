"""The `Store` contract for refresh with grace: the sealed answer of a rotation kept on the
rotated token's row (`keep_successor`), read atomically by `consume_refresh_token` while its
window lasts, and dropped after."""

from __future__ import annotations

import pytest
from store_support import FakeClock, key, make_grant, make_token

from ib_oauth_bridge.store import Store

pytestmark = pytest.mark.anyio

SEALED = "c2VhbGVk"  # the store never looks inside: any text


async def test_a_consumed_token_keeps_its_successor_for_the_window(
    store: Store, clock: FakeClock
) -> None:
    k = key()
    await store.put_refresh_token(k, make_token())
    assert (await store.consume_refresh_token(k)).first_use is True
    assert await store.keep_successor(k, SEALED, clock() + 30) is True

    retry = await store.consume_refresh_token(k)
    assert retry.first_use is False
    assert retry.record is not None
    assert retry.record.successor == SEALED
    assert retry.record.successor_until == clock() + 30
    got = await store.get_refresh_token(k)
    assert got is not None
    assert got.successor == SEALED

    clock.advance(30)
    late = await store.consume_refresh_token(k)
    assert late.record is not None
    assert late.record.successor is None  # the window is over, purged or not
    assert late.record.successor_until is not None  # still told apart from "in flight"


async def test_a_token_is_rotated_once(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_refresh_token(k, make_token())
    await store.consume_refresh_token(k)
    assert await store.keep_successor(k, SEALED, clock() + 30) is True
    assert await store.keep_successor(k, "other", clock() + 60) is False
    record = (await store.consume_refresh_token(k)).record
    assert record is not None
    assert (record.successor, record.successor_until) == (SEALED, clock() + 30)


async def test_only_a_used_live_token_takes_a_successor(store: Store, clock: FakeClock) -> None:
    unused, unknown = key(), key()
    await store.put_refresh_token(unused, make_token())
    assert await store.keep_successor(unused, SEALED, clock() + 30) is False
    assert await store.keep_successor(unknown, SEALED, clock() + 30) is False
    record = await store.get_refresh_token(unused)
    assert record is not None
    assert record.successor is None
    assert record.successor_until is None


async def test_a_revoked_grant_keeps_no_successor(store: Store, clock: FakeClock) -> None:
    grant = make_grant()
    await store.put_grant(grant)
    k = key()
    await store.put_refresh_token(k, make_token(grant.grant_id))
    await store.consume_refresh_token(k)
    await store.revoke_grant(grant.grant_id)
    assert await store.keep_successor(k, SEALED, clock() + 30) is False
    assert (await store.consume_refresh_token(k)).record is None


async def test_purge_drops_a_successor_past_its_window(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_refresh_token(k, make_token(expires_in=3600))
    await store.consume_refresh_token(k)
    await store.keep_successor(k, SEALED, clock() + 30)
    clock.advance(31)
    await store.purge_expired()
    record = await store.get_refresh_token(k)
    assert record is not None  # the row lives on to recognise replays ...
    assert record.successor is None  # ... without the answer
