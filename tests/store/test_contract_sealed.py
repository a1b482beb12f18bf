"""The `Store` contract for re-sealing (`ib-oauth-bridge store reseal`, and sids on use): the
sealed values of live rows, page by page, and a compare-and-set replacement that never
overwrites what a running bridge wrote meanwhile."""

from __future__ import annotations

import pytest
from store_support import PAST, FakeClock, key, make_done, make_grant, make_pending, make_token

from ib_oauth_bridge.store import SealedKind, SealedValue, Store
from ib_oauth_bridge.store.protocols import GrantCounter

pytestmark = pytest.mark.anyio


async def test_sealed_sids_of_live_grants_only_in_pages(store: Store) -> None:
    live = sorted([make_grant(grant_id=f"g-{i}") for i in range(5)], key=lambda g: g.grant_id)
    for grant in live:
        await store.put_grant(grant)
    await store.put_grant(make_grant(expires_in=PAST, grant_id="g-expired"))
    await store.put_grant(make_grant(grant_id="g-revoked"))
    await store.revoke_grant("g-revoked")

    first = await store.sealed_values(SealedKind.GRANT_SID, limit=3)
    rest = await store.sealed_values(SealedKind.GRANT_SID, after=first[-1].row_key, limit=3)
    seen = first + rest
    assert [v.row_key for v in seen] == [g.grant_id for g in live]
    assert all(v.kind is SealedKind.GRANT_SID for v in seen)
    assert seen[0].sealed == live[0].sid_ciphertext
    assert await store.sealed_values(SealedKind.GRANT_SID, after=seen[-1].row_key) == []


async def test_replace_sealed_is_a_compare_and_set(store: Store) -> None:
    grant = make_grant()
    await store.put_grant(grant)
    (value,) = await store.sealed_values(SealedKind.GRANT_SID)
    assert await store.replace_sealed(value, b"\x01new-one") is True
    # A second writer still holding the old value changes nothing.
    assert await store.replace_sealed(value, b"\x01stale-writer") is False
    stored = await store.get_grant(grant.grant_id)
    assert stored is not None
    assert stored.sid_ciphertext == b"\x01new-one"
    gone = SealedValue(SealedKind.GRANT_SID, "no-such-grant", b"x")
    assert await store.replace_sealed(gone, b"y") is False


async def test_successors_are_listed_while_their_window_lasts(
    store: Store, clock: FakeClock
) -> None:
    k = key()
    await store.put_refresh_token(k, make_token())
    await store.consume_refresh_token(k)
    await store.keep_successor(k, "c2VhbGVk", clock() + 30)
    (value,) = await store.sealed_values(SealedKind.REFRESH_SUCCESSOR)
    assert (value.row_key, value.sealed) == (k, "c2VhbGVk")
    assert await store.replace_sealed(value, "bmV3") is True
    record = await store.get_refresh_token(k)
    assert record is not None
    assert record.successor == "bmV3"
    clock.advance(30)
    assert await store.sealed_values(SealedKind.REFRESH_SUCCESSOR) == []


async def test_login_texts_are_listed(store: Store) -> None:
    pending, done = key(), key()
    await store.put_transaction(pending, make_pending())
    await store.put_transaction(done, make_done())
    tokens = await store.sealed_values(SealedKind.LOGIN_TOKEN)
    redirects = await store.sealed_values(SealedKind.LOGIN_REDIRECT)
    assert [(v.row_key, v.sealed) for v in tokens] == [(pending, "sealed-ib-token")]
    assert [v.row_key for v in redirects] == [done]


async def test_live_grants_are_counted(store: Store) -> None:
    """The metrics gauge's count (`GrantCounter`), on every backend: revoked and ended grants
    are not live."""
    assert isinstance(store, GrantCounter)
    for i in range(3):
        await store.put_grant(make_grant(grant_id=f"g-live-{i}"))
    await store.put_grant(make_grant(expires_in=PAST, grant_id="g-ended"))
    await store.put_grant(make_grant(grant_id="g-revoked"))
    await store.revoke_grant("g-revoked")
    assert await store.count_live_grants() == 3
