"""The `Store` contract, once, for every backend (see store_support.backend_names).

Login transactions, grants, codes, refresh tokens and housekeeping; the newer record kinds
and the cross-process races have their own modules.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from store_support import (
    FUTURE,
    PAST,
    T0,
    Backend,
    FakeClock,
    at,
    key,
    make_client,
    make_code,
    make_grant,
    make_token,
    make_transaction,
    purged,
)

from ib_oauth_bridge.store import (
    AuthorizationCode,
    Consumed,
    LoginStatus,
    RefreshToken,
    Store,
)

pytestmark = pytest.mark.anyio


def used(record: AuthorizationCode | RefreshToken) -> AuthorizationCode | RefreshToken:
    record.used = True
    return record


# -- login transactions --------------------------------------------------------------------


async def test_transaction_round_trip(store: Store) -> None:
    k = key()
    txn = make_transaction(
        status=LoginStatus.PENDING,
        platform_url="https://acme.intelligencebank.com",
        ib_login_token="ib-token",
        started_at=at(-5),
        last_polled_at=123.5,
        error=None,
        redirect_to="http://127.0.0.1:33418/callback?code=x&state=y",
        nonce="n-\u00e9",
    )
    await store.put_transaction(k, txn)
    got = await store.get_transaction(k)
    assert got == txn
    assert got is not None
    assert type(got.status) is LoginStatus


async def test_transaction_minimal_round_trip(store: Store) -> None:
    k = key()
    txn = make_transaction(state=None, resource=None)
    assert txn.nonce is None
    await store.put_transaction(k, txn)
    assert await store.get_transaction(k) == txn


async def test_transaction_put_again_overwrites(store: Store) -> None:
    k = key()
    first = make_transaction(status=LoginStatus.PENDING, ib_login_token="t", nonce="n1")
    await store.put_transaction(k, first)
    updated = make_transaction(
        status=LoginStatus.FAILED, ib_login_token=None, error="IB said no", last_polled_at=9.0
    )
    await store.put_transaction(k, updated)
    assert await store.get_transaction(k) == updated


async def test_transaction_delete(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_transaction())
    await store.delete_transaction(k)
    assert await store.get_transaction(k) is None
    await store.delete_transaction(k)  # deleting what is gone is not an error


async def test_transactions_are_keyed_separately(store: Store) -> None:
    k1, k2 = key(), key()
    await store.put_transaction(k1, make_transaction(scope="a"))
    await store.put_transaction(k2, make_transaction(scope="b"))
    assert (await store.get_transaction(k1)).scope == "a"  # type: ignore[union-attr]
    assert (await store.get_transaction(k2)).scope == "b"  # type: ignore[union-attr]
    assert await store.get_transaction(key()) is None


async def test_expired_transaction_is_invisible(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_transaction(expires_in=PAST))
    assert await store.get_transaction(k) is None


async def test_transaction_expires_by_the_store_clock(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_transaction(k, make_transaction(expires_in=10))
    clock.advance(9.5)
    assert await store.get_transaction(k) is not None
    clock.advance(0.5)  # expires_at is the first instant it is gone
    assert await store.get_transaction(k) is None


# -- grants --------------------------------------------------------------------------------


async def test_grant_round_trip(store: Store) -> None:
    grant = make_grant()
    await store.put_grant(grant)
    got = await store.get_grant(grant.grant_id)
    assert got == grant
    assert got is not None
    assert isinstance(got.sid_ciphertext, bytes)
    assert await store.get_grant("unknown") is None


async def test_expired_grant_is_invisible(store: Store) -> None:
    grant = make_grant(expires_in=PAST)
    await store.put_grant(grant)
    assert await store.get_grant(grant.grant_id) is None


async def test_grant_ends_at_session_end_by_the_store_clock(store: Store, clock: FakeClock) -> None:
    grant = make_grant(expires_in=100)
    await store.put_grant(grant)
    assert await store.get_grant(grant.grant_id) == grant
    clock.advance(100)
    assert await store.get_grant(grant.grant_id) is None


async def test_revoked_grant_is_invisible(store: Store) -> None:
    grant, other = make_grant(), make_grant()
    await store.put_grant(grant)
    await store.put_grant(other)
    await store.revoke_grant(grant.grant_id)
    assert await store.get_grant(grant.grant_id) is None
    assert await store.get_grant(other.grant_id) == other
    await store.revoke_grant("unknown")  # not an error


async def test_revocation_is_sticky(store: Store) -> None:
    """A stale read-modify-write that re-puts the grant must not bring it back."""
    grant = make_grant()
    await store.put_grant(grant)
    await store.revoke_grant(grant.grant_id)
    await store.put_grant(grant)  # grant.revoked is still False in this stale copy
    assert await store.get_grant(grant.grant_id) is None


async def test_revoke_ends_codes_and_tokens(store: Store) -> None:
    grant, other = make_grant(), make_grant()
    await store.put_grant(grant)
    await store.put_grant(other)
    code_k, token_k, other_token_k = key(), key(), key()
    other_token = make_token(other.grant_id)
    await store.put_code(code_k, make_code(grant.grant_id))
    await store.put_refresh_token(token_k, make_token(grant.grant_id))
    await store.put_refresh_token(other_token_k, other_token)

    await store.revoke_grant(grant.grant_id)

    assert await store.consume_code(code_k) == Consumed(None, first_use=False)
    assert await store.get_refresh_token(token_k) is None
    assert await store.consume_refresh_token(token_k) == Consumed(None, first_use=False)
    assert await store.get_refresh_token(other_token_k) == other_token
    assert (await store.consume_refresh_token(other_token_k)).first_use is True


async def test_token_stored_after_revocation_is_dead(store: Store) -> None:
    """A refresh already in flight when the grant is revoked may store its new token late."""
    grant = make_grant()
    await store.put_grant(grant)
    await store.revoke_grant(grant.grant_id)
    token_k, code_k = key(), key()
    await store.put_refresh_token(token_k, make_token(grant.grant_id))
    await store.put_code(code_k, make_code(grant.grant_id))
    assert await store.get_refresh_token(token_k) is None
    assert (await store.consume_refresh_token(token_k)).record is None
    assert (await store.consume_code(code_k)).record is None


async def test_touch_grant(store: Store) -> None:
    grant = make_grant()
    await store.put_grant(grant)
    later = grant.last_used_at + 100

    await store.touch_grant(grant.grant_id, last_used_at=later, refreshed=True)
    got = await store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == later
    assert got.refresh_count == 1

    await store.touch_grant(grant.grant_id, last_used_at=later + 5, refreshed=False)
    await store.touch_grant(grant.grant_id, last_used_at=later + 6, refreshed=True)
    got = await store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == later + 6
    assert got.refresh_count == 2


async def test_touch_grant_never_moves_last_use_back(store: Store) -> None:
    grant = make_grant()
    await store.put_grant(grant)
    await store.touch_grant(grant.grant_id, last_used_at=grant.last_used_at + 50, refreshed=False)
    await store.touch_grant(grant.grant_id, last_used_at=grant.last_used_at + 10, refreshed=False)
    got = await store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == grant.last_used_at + 50


async def test_touch_unknown_grant_is_harmless(store: Store) -> None:
    await store.touch_grant("unknown", last_used_at=T0, refreshed=True)
    assert await store.get_grant("unknown") is None


# -- authorization codes -------------------------------------------------------------------


async def test_consume_code_first_use_then_replay(store: Store) -> None:
    k, code = key(), make_code()
    await store.put_code(k, code)

    first = await store.consume_code(k)
    assert first.first_use is True
    assert first.record == used(code)

    replay = await store.consume_code(k)
    assert replay.first_use is False
    assert replay.record == first.record  # the caller needs grant_id to revoke on replay


async def test_consume_code_round_trips_fields(store: Store) -> None:
    k = key()
    code = make_code("grant-xyz")
    code.resource = None
    code.nonce = None
    await store.put_code(k, code)
    got = (await store.consume_code(k)).record
    assert got == used(code)


async def test_code_keeps_its_nonce(store: Store) -> None:
    k = key()
    await store.put_code(k, make_code())
    got = (await store.consume_code(k)).record
    assert got is not None
    assert got.nonce == "n-0S6_WzA2Mj"


async def test_consume_unknown_code(store: Store) -> None:
    assert await store.consume_code(key()) == Consumed(None, first_use=False)


async def test_expired_code_cannot_be_consumed(store: Store) -> None:
    k = key()
    await store.put_code(k, make_code(expires_in=PAST))
    assert await store.consume_code(k) == Consumed(None, first_use=False)


async def test_code_expires_by_the_store_clock(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_code(k, make_code(expires_in=60))
    clock.advance(60)
    assert await store.consume_code(k) == Consumed(None, first_use=False)


async def test_codes_are_independent(store: Store) -> None:
    k1, k2 = key(), key()
    await store.put_code(k1, make_code())
    await store.put_code(k2, make_code())
    assert (await store.consume_code(k1)).first_use is True
    assert (await store.consume_code(k2)).first_use is True


# -- refresh tokens ------------------------------------------------------------------------


async def test_refresh_token_get_does_not_consume(store: Store) -> None:
    k, token = key(), make_token()
    await store.put_refresh_token(k, token)
    assert await store.get_refresh_token(k) == token
    assert await store.get_refresh_token(k) == token
    assert (await store.consume_refresh_token(k)).first_use is True


async def test_consume_refresh_token_first_use_then_replay(store: Store) -> None:
    k, token = key(), make_token()
    await store.put_refresh_token(k, token)

    first = await store.consume_refresh_token(k)
    assert first == Consumed(used(token), first_use=True)

    replay = await store.consume_refresh_token(k)
    assert replay.first_use is False
    assert replay.record == first.record
    assert await store.get_refresh_token(k) == first.record  # still readable, marked used


async def test_consume_unknown_refresh_token(store: Store) -> None:
    assert await store.consume_refresh_token(key()) == Consumed(None, first_use=False)
    assert await store.get_refresh_token(key()) is None


async def test_expired_refresh_token_is_invisible(store: Store) -> None:
    k = key()
    await store.put_refresh_token(k, make_token(expires_in=PAST))
    assert await store.get_refresh_token(k) is None
    assert await store.consume_refresh_token(k) == Consumed(None, first_use=False)


async def test_refresh_token_expires_by_the_store_clock(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_refresh_token(k, make_token(expires_in=30))
    assert await store.get_refresh_token(k) is not None
    clock.advance(30)
    assert await store.get_refresh_token(k) is None
    assert await store.consume_refresh_token(k) == Consumed(None, first_use=False)


# -- housekeeping --------------------------------------------------------------------------


async def test_purge_expired(store: Store, backend: Backend, clock: FakeClock) -> None:
    """SQLite deletes by expiry; Redis has nothing to purge (its TTLs delete, and a record put
    already expired is never written: test_redis.py checks the TTLs), and both agree on what
    stays readable."""
    live = {"txn": key(), "code": key(), "token": key(), "jti": key()}
    dead = {"txn": key(), "code": key(), "token": key(), "jti": key()}
    live_grant, dead_grant = make_grant(), make_grant(expires_in=PAST)
    live_client, dead_client = make_client(), make_client(expires_in=PAST)
    kept_client = make_client(expires_in=None)  # used once: never expires
    await store.put_grant(live_grant)
    await store.put_grant(dead_grant)
    await store.put_transaction(live["txn"], make_transaction())
    await store.put_transaction(dead["txn"], make_transaction(expires_in=PAST))
    await store.put_code(live["code"], make_code(live_grant.grant_id))
    await store.put_code(dead["code"], make_code(live_grant.grant_id, expires_in=PAST))
    await store.put_refresh_token(live["token"], make_token(live_grant.grant_id))
    await store.put_refresh_token(dead["token"], make_token(live_grant.grant_id, expires_in=PAST))
    for client in (live_client, dead_client, kept_client):
        await store.put_client(client)
    assert await store.remember(live["jti"], at(FUTURE)) is True
    assert await store.remember(dead["jti"], at(PAST)) is True

    # One of each kind: transaction, grant, code, token, client, replay entry.
    assert await store.purge_expired() == purged(backend, 6)
    assert await store.purge_expired() == 0

    assert await store.get_grant(live_grant.grant_id) == live_grant
    assert await store.get_transaction(live["txn"]) is not None
    assert await store.get_refresh_token(live["token"]) is not None
    assert (await store.consume_code(live["code"])).first_use is True
    assert await store.list_clients() == sorted(
        [live_client, kept_client], key=lambda c: c.client_id
    )
    assert await store.remember(live["jti"], at(FUTURE)) is False  # purge left it alone

    # Later, everything with an expiry has expired and goes; the used client stays.
    clock.advance(FUTURE * 10)
    assert await store.purge_expired() == purged(backend, 6)
    assert await store.list_clients() == [kept_client]
    if not backend.purges:
        return  # what follows is deletion by purge; Redis's TTLs run on the real clock
    clock.now = T0
    assert await store.get_transaction(live["txn"]) is None  # gone, not merely expired
    assert await store.get_grant(live_grant.grant_id) is None
    assert await store.remember(live["jti"], at(FUTURE)) is True


async def test_purge_cutoff_is_the_store_clock(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    k = key()
    await store.put_transaction(k, make_transaction(expires_in=100))
    clock.advance(99)
    assert await store.purge_expired() == 0
    clock.advance(1)
    assert await store.purge_expired() == purged(backend, 1)


async def test_ping(store: Store) -> None:
    assert await store.ping() is True


async def test_second_handle_sees_writes(store: Store, backend: Backend, clock: FakeClock) -> None:
    other = backend.open(clock)
    try:
        k, grant, client = key(), make_grant(), make_client()
        await store.put_transaction(k, make_transaction())
        await store.put_grant(grant)
        await store.put_client(client)
        assert await other.get_transaction(k) == await store.get_transaction(k)
        assert await other.get_grant(grant.grant_id) == grant
        assert await other.get_client(client.client_id) == client
        await other.revoke_grant(grant.grant_id)
        assert await store.get_grant(grant.grant_id) is None
    finally:
        await other.close()


async def test_threads_race_for_one_code(store: Store) -> None:
    """Threads of one process, each with its own event loop (and so its own connection)."""
    k = key()
    await store.put_code(k, make_code())
    start = threading.Barrier(16)

    def consume(_: int) -> bool:
        start.wait(timeout=30)
        result = asyncio.run(store.consume_code(k))
        assert result.record is not None
        return result.first_use

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(consume, range(16)))
    assert results.count(True) == 1
