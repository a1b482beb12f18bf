"""The `Store` contract, once, for every backend (see store_support.backend_names)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from store_support import (
    FUTURE,
    PAST,
    Backend,
    at,
    key,
    make_code,
    make_grant,
    make_token,
    make_transaction,
    race_worker,
)

from ib_oauth_bridge.store import (
    AuthorizationCode,
    Consumed,
    LoginStatus,
    RefreshToken,
    Store,
)


def used(record: AuthorizationCode | RefreshToken) -> AuthorizationCode | RefreshToken:
    record.used = True
    return record


# -- login transactions --------------------------------------------------------------------


def test_transaction_round_trip(store: Store) -> None:
    k = key()
    txn = make_transaction(
        status=LoginStatus.PENDING,
        platform_url="https://acme.intelligencebank.com",
        ib_login_token="ib-token",
        last_polled_at=123.5,
        error=None,
        redirect_to="http://127.0.0.1:33418/callback?code=x&state=y",
    )
    store.put_transaction(k, txn)
    got = store.get_transaction(k)
    assert got == txn
    assert got is not None
    assert type(got.status) is LoginStatus


def test_transaction_minimal_round_trip(store: Store) -> None:
    k = key()
    txn = make_transaction(state=None, resource=None)
    store.put_transaction(k, txn)
    assert store.get_transaction(k) == txn


def test_transaction_put_again_overwrites(store: Store) -> None:
    k = key()
    first = make_transaction(status=LoginStatus.PENDING, ib_login_token="t")
    store.put_transaction(k, first)
    updated = make_transaction(
        status=LoginStatus.FAILED, ib_login_token=None, error="IB said no", last_polled_at=9.0
    )
    store.put_transaction(k, updated)
    assert store.get_transaction(k) == updated


def test_transaction_delete(store: Store) -> None:
    k = key()
    store.put_transaction(k, make_transaction())
    store.delete_transaction(k)
    assert store.get_transaction(k) is None
    store.delete_transaction(k)  # deleting what is gone is not an error


def test_transactions_are_keyed_separately(store: Store) -> None:
    k1, k2 = key(), key()
    store.put_transaction(k1, make_transaction(scope="a"))
    store.put_transaction(k2, make_transaction(scope="b"))
    assert store.get_transaction(k1).scope == "a"  # type: ignore[union-attr]
    assert store.get_transaction(k2).scope == "b"  # type: ignore[union-attr]
    assert store.get_transaction(key()) is None


def test_expired_transaction_is_invisible(store: Store) -> None:
    k = key()
    store.put_transaction(k, make_transaction(expires_in=PAST))
    assert store.get_transaction(k) is None


# -- grants --------------------------------------------------------------------------------


def test_grant_round_trip(store: Store) -> None:
    grant = make_grant()
    store.put_grant(grant)
    got = store.get_grant(grant.grant_id)
    assert got == grant
    assert got is not None
    assert isinstance(got.sid_ciphertext, bytes)
    assert store.get_grant("unknown") is None


def test_expired_grant_is_invisible(store: Store) -> None:
    grant = make_grant(expires_in=PAST)
    store.put_grant(grant)
    assert store.get_grant(grant.grant_id) is None


def test_revoked_grant_is_invisible(store: Store) -> None:
    grant, other = make_grant(), make_grant()
    store.put_grant(grant)
    store.put_grant(other)
    store.revoke_grant(grant.grant_id)
    assert store.get_grant(grant.grant_id) is None
    assert store.get_grant(other.grant_id) == other
    store.revoke_grant("unknown")  # not an error


def test_revocation_is_sticky(store: Store) -> None:
    """A stale read-modify-write that re-puts the grant must not bring it back."""
    grant = make_grant()
    store.put_grant(grant)
    store.revoke_grant(grant.grant_id)
    store.put_grant(grant)  # grant.revoked is still False in this stale copy
    assert store.get_grant(grant.grant_id) is None


def test_revoke_ends_codes_and_tokens(store: Store) -> None:
    grant, other = make_grant(), make_grant()
    store.put_grant(grant)
    store.put_grant(other)
    code_k, token_k, other_token_k = key(), key(), key()
    other_token = make_token(other.grant_id)
    store.put_code(code_k, make_code(grant.grant_id))
    store.put_refresh_token(token_k, make_token(grant.grant_id))
    store.put_refresh_token(other_token_k, other_token)

    store.revoke_grant(grant.grant_id)

    assert store.consume_code(code_k) == Consumed(None, first_use=False)
    assert store.get_refresh_token(token_k) is None
    assert store.consume_refresh_token(token_k) == Consumed(None, first_use=False)
    assert store.get_refresh_token(other_token_k) == other_token
    assert store.consume_refresh_token(other_token_k).first_use is True


def test_token_stored_after_revocation_is_dead(store: Store) -> None:
    """A refresh already in flight when the grant is revoked may store its new token late."""
    grant = make_grant()
    store.put_grant(grant)
    store.revoke_grant(grant.grant_id)
    token_k, code_k = key(), key()
    store.put_refresh_token(token_k, make_token(grant.grant_id))
    store.put_code(code_k, make_code(grant.grant_id))
    assert store.get_refresh_token(token_k) is None
    assert store.consume_refresh_token(token_k).record is None
    assert store.consume_code(code_k).record is None


def test_touch_grant(store: Store) -> None:
    grant = make_grant()
    store.put_grant(grant)
    later = grant.last_used_at + 100

    store.touch_grant(grant.grant_id, last_used_at=later, refreshed=True)
    got = store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == later
    assert got.refresh_count == 1

    store.touch_grant(grant.grant_id, last_used_at=later + 5, refreshed=False)
    store.touch_grant(grant.grant_id, last_used_at=later + 6, refreshed=True)
    got = store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == later + 6
    assert got.refresh_count == 2


def test_touch_grant_never_moves_last_use_back(store: Store) -> None:
    grant = make_grant()
    store.put_grant(grant)
    store.touch_grant(grant.grant_id, last_used_at=grant.last_used_at + 50, refreshed=False)
    store.touch_grant(grant.grant_id, last_used_at=grant.last_used_at + 10, refreshed=False)
    got = store.get_grant(grant.grant_id)
    assert got is not None
    assert got.last_used_at == grant.last_used_at + 50


def test_touch_unknown_grant_is_harmless(store: Store) -> None:
    store.touch_grant("unknown", last_used_at=time.time(), refreshed=True)
    assert store.get_grant("unknown") is None


# -- authorization codes -------------------------------------------------------------------


def test_consume_code_first_use_then_replay(store: Store) -> None:
    k, code = key(), make_code()
    store.put_code(k, code)

    first = store.consume_code(k)
    assert first.first_use is True
    assert first.record == used(code)

    replay = store.consume_code(k)
    assert replay.first_use is False
    assert replay.record == first.record  # the caller needs grant_id to revoke on replay


def test_consume_code_round_trips_fields(store: Store) -> None:
    k = key()
    code = make_code("grant-xyz")
    code.resource = None
    store.put_code(k, code)
    got = store.consume_code(k).record
    assert got == used(code)


def test_consume_unknown_code(store: Store) -> None:
    assert store.consume_code(key()) == Consumed(None, first_use=False)


def test_expired_code_cannot_be_consumed(store: Store) -> None:
    k = key()
    store.put_code(k, make_code(expires_in=PAST))
    assert store.consume_code(k) == Consumed(None, first_use=False)


def test_codes_are_independent(store: Store) -> None:
    k1, k2 = key(), key()
    store.put_code(k1, make_code())
    store.put_code(k2, make_code())
    assert store.consume_code(k1).first_use is True
    assert store.consume_code(k2).first_use is True


# -- refresh tokens ------------------------------------------------------------------------


def test_refresh_token_get_does_not_consume(store: Store) -> None:
    k, token = key(), make_token()
    store.put_refresh_token(k, token)
    assert store.get_refresh_token(k) == token
    assert store.get_refresh_token(k) == token
    assert store.consume_refresh_token(k).first_use is True


def test_consume_refresh_token_first_use_then_replay(store: Store) -> None:
    k, token = key(), make_token()
    store.put_refresh_token(k, token)

    first = store.consume_refresh_token(k)
    assert first == Consumed(used(token), first_use=True)

    replay = store.consume_refresh_token(k)
    assert replay.first_use is False
    assert replay.record == first.record
    assert store.get_refresh_token(k) == first.record  # still readable, marked used


def test_consume_unknown_refresh_token(store: Store) -> None:
    assert store.consume_refresh_token(key()) == Consumed(None, first_use=False)
    assert store.get_refresh_token(key()) is None


def test_expired_refresh_token_is_invisible(store: Store) -> None:
    k = key()
    store.put_refresh_token(k, make_token(expires_in=PAST))
    assert store.get_refresh_token(k) is None
    assert store.consume_refresh_token(k) == Consumed(None, first_use=False)


# -- housekeeping --------------------------------------------------------------------------


def test_purge_expired(store: Store) -> None:
    live = {"txn": key(), "code": key(), "token": key()}
    dead = {"txn": key(), "code": key(), "token": key()}
    live_grant, dead_grant = make_grant(), make_grant(expires_in=PAST)
    store.put_grant(live_grant)
    store.put_grant(dead_grant)
    store.put_transaction(live["txn"], make_transaction())
    store.put_transaction(dead["txn"], make_transaction(expires_in=PAST))
    store.put_code(live["code"], make_code(live_grant.grant_id))
    store.put_code(dead["code"], make_code(live_grant.grant_id, expires_in=PAST))
    store.put_refresh_token(live["token"], make_token(live_grant.grant_id))
    store.put_refresh_token(dead["token"], make_token(live_grant.grant_id, expires_in=PAST))

    assert store.purge_expired() == 4
    assert store.purge_expired() == 0

    assert store.get_grant(live_grant.grant_id) == live_grant
    assert store.get_transaction(live["txn"]) is not None
    assert store.get_refresh_token(live["token"]) is not None
    assert store.consume_code(live["code"]).first_use is True

    # With a clock far ahead, everything is expired and goes.
    assert store.purge_expired(now=at(FUTURE * 10)) == 4
    assert store.get_transaction(live["txn"]) is None


def test_purge_respects_explicit_now(store: Store) -> None:
    k = key()
    store.put_transaction(k, make_transaction(expires_in=100))
    assert store.purge_expired(now=time.time()) == 0
    assert store.purge_expired(now=at(200)) == 1


def test_ping(store: Store) -> None:
    assert store.ping() is True


def test_second_handle_sees_writes(store: Store, backend: Backend) -> None:
    other = backend.open()
    try:
        k, grant = key(), make_grant()
        store.put_transaction(k, make_transaction())
        store.put_grant(grant)
        assert other.get_transaction(k) == store.get_transaction(k)
        assert other.get_grant(grant.grant_id) == grant
        other.revoke_grant(grant.grant_id)
        assert store.get_grant(grant.grant_id) is None
    finally:
        other.close()


# -- concurrency ---------------------------------------------------------------------------


def test_threads_race_for_one_code(store: Store) -> None:
    k = key()
    store.put_code(k, make_code())
    start = threading.Barrier(16)

    def consume(_: int) -> bool:
        start.wait(timeout=30)
        result = store.consume_code(k)
        assert result.record is not None
        return result.first_use

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(consume, range(16)))
    assert results.count(True) == 1


RACERS = 8
KEYS_PER_RACE = 200  # a lost race needs many tries to show; 200 exposes a naive read-then-write


@pytest.mark.parametrize("kind", ["code", "refresh_token"])
def test_processes_race_for_single_use(store: Store, backend: Backend, kind: str) -> None:
    keys = [key() for _ in range(KEYS_PER_RACE)]
    for k in keys:
        if kind == "code":
            store.put_code(k, make_code())
        else:
            store.put_refresh_token(k, make_token())

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=race_worker, args=(backend, kind, keys, barrier, out))
        for _ in range(RACERS)
    ]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    for i in range(KEYS_PER_RACE):
        winners = [r[i] for r in results].count(True)
        assert winners == 1, f"key {i}: {winners} processes got first_use"
