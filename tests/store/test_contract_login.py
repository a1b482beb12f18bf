"""The login completion contract: `claim_poll` and `finish_transaction`, in one process.

Their whole point is many workers at once; the cross-process races are in test_races.py.
"""

from __future__ import annotations

import pytest
from store_support import T0, FakeClock, key, make_done, make_pending, make_transaction

from ib_oauth_bridge.store import LoginStatus, Store

pytestmark = pytest.mark.anyio


# -- claim_poll ----------------------------------------------------------------------------


async def test_claim_poll_takes_a_pending_transaction(store: Store) -> None:
    k, txn = key(), make_pending()
    await store.put_transaction(k, txn)

    claimed = await store.claim_poll(k, now=T0 + 3, min_interval=1.0)

    txn.last_polled_at = T0 + 3
    txn.ib_calls += 1  # a claim is one call to IB
    assert claimed == txn  # the whole record, as it now stands
    assert await store.get_transaction(k) == txn  # and the claim is stored


async def test_claim_poll_respects_the_interval(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending())
    assert await store.claim_poll(k, now=T0, min_interval=2.0) is not None

    assert await store.claim_poll(k, now=T0, min_interval=2.0) is None  # same instant
    assert await store.claim_poll(k, now=T0 + 1.999, min_interval=2.0) is None
    stored = await store.get_transaction(k)
    assert stored is not None
    assert stored.last_polled_at == T0  # a lost claim changes nothing

    again = await store.claim_poll(k, now=T0 + 2.0, min_interval=2.0)  # exactly the interval
    assert again is not None
    assert again.last_polled_at == T0 + 2.0


async def test_claim_poll_measures_from_the_last_poll(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending(last_polled_at=T0 - 0.5))
    assert await store.claim_poll(k, now=T0, min_interval=1.0) is None
    assert await store.claim_poll(k, now=T0 + 0.5, min_interval=1.0) is not None


@pytest.mark.parametrize(
    "status", [LoginStatus.NEW, LoginStatus.DONE, LoginStatus.EXPIRED, LoginStatus.FAILED]
)
async def test_claim_poll_never_claims_what_is_not_pending(
    store: Store, status: LoginStatus
) -> None:
    k, txn = key(), make_pending(status=status)
    await store.put_transaction(k, txn)
    assert await store.claim_poll(k, now=T0 + 100, min_interval=1.0) is None
    assert await store.get_transaction(k) == txn  # last_polled_at untouched


async def test_claim_poll_unknown_transaction(store: Store) -> None:
    assert await store.claim_poll(key(), now=T0, min_interval=1.0) is None


async def test_claim_poll_never_claims_an_expired_transaction(
    store: Store, clock: FakeClock
) -> None:
    k = key()
    await store.put_transaction(k, make_pending(expires_in=10))
    clock.advance(10)
    # The caller's `now` says nothing about expiry: the store's clock does, as for reads.
    assert await store.claim_poll(k, now=T0, min_interval=1.0) is None


# -- finish_transaction --------------------------------------------------------------------


async def test_finish_replaces_a_pending_transaction_once(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending())
    done = make_done(racer=1)

    assert await store.finish_transaction(k, done) is True
    assert await store.get_transaction(k) == done

    # The login is complete: a second worker's result must not replace the first.
    assert await store.finish_transaction(k, make_done(racer=2)) is False
    assert await store.get_transaction(k) == done


@pytest.mark.parametrize(
    "status", [LoginStatus.NEW, LoginStatus.DONE, LoginStatus.EXPIRED, LoginStatus.FAILED]
)
async def test_finish_refuses_what_is_not_pending(store: Store, status: LoginStatus) -> None:
    k, txn = key(), make_pending(status=status)
    await store.put_transaction(k, txn)
    assert await store.finish_transaction(k, make_done()) is False
    assert await store.get_transaction(k) == txn


async def test_finish_unknown_transaction_creates_nothing(store: Store) -> None:
    k = key()
    assert await store.finish_transaction(k, make_done()) is False
    assert await store.get_transaction(k) is None


async def test_finish_refuses_an_expired_transaction(store: Store, clock: FakeClock) -> None:
    k = key()
    await store.put_transaction(k, make_pending(expires_in=10))
    clock.advance(10)
    assert await store.finish_transaction(k, make_done()) is False
    clock.now = T0
    stored = await store.get_transaction(k)
    assert stored is not None
    assert stored.status is LoginStatus.PENDING


async def test_finish_to_failed_records_the_error(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending())
    failed = make_transaction(status=LoginStatus.FAILED, error="IB refused the login")
    assert await store.finish_transaction(k, failed) is True
    assert await store.get_transaction(k) == failed
    assert await store.claim_poll(k, now=T0 + 100, min_interval=1.0) is None


# -- bounded anonymous work: live transactions per address, counted IB calls -----------------


async def test_count_live_transactions_counts_unfinished_ones_of_one_address(
    store: Store, clock: FakeClock
) -> None:
    assert await store.count_live_transactions("addr-a") == 0
    await store.put_transaction(key(), make_transaction(address_hash="addr-a"))
    await store.put_transaction(key(), make_pending(address_hash="addr-a", expires_in=10))
    await store.put_transaction(key(), make_transaction(address_hash="addr-b"))
    await store.put_transaction(key(), make_transaction())  # no address: never counted
    for status in (LoginStatus.DONE, LoginStatus.EXPIRED, LoginStatus.FAILED):  # finished
        await store.put_transaction(key(), make_pending(address_hash="addr-a", status=status))
    assert await store.count_live_transactions("addr-a") == 2
    assert await store.count_live_transactions("addr-b") == 1
    clock.advance(10)  # expired ones are not live, purged or not
    assert await store.count_live_transactions("addr-a") == 1


async def test_claim_poll_stops_at_the_ib_call_cap(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending(ib_calls=2))
    claimed = await store.claim_poll(k, now=T0, min_interval=1.0, max_ib_calls=3)
    assert claimed is not None
    assert claimed.ib_calls == 3
    assert await store.claim_poll(k, now=T0 + 5, min_interval=1.0, max_ib_calls=3) is None
    stored = await store.get_transaction(k)
    assert stored is not None
    assert (stored.ib_calls, stored.last_polled_at) == (3, T0)  # the refused claim changed nothing


async def test_claim_submission_counts_and_stops_at_either_cap(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_transaction())
    for n in (1, 2):
        claimed = await store.claim_submission(k, max_submissions=2, max_ib_calls=10)
        assert claimed is not None
        assert (claimed.submissions, claimed.ib_calls) == (n, n)
    assert await store.claim_submission(k, max_submissions=2, max_ib_calls=10) is None
    other = key()
    await store.put_transaction(other, make_pending(ib_calls=10))
    assert await store.claim_submission(other, max_submissions=5, max_ib_calls=10) is None
    stored = await store.get_transaction(other)
    assert stored is not None
    assert (stored.submissions, stored.ib_calls) == (0, 10)


async def test_claim_submission_needs_a_live_transaction(store: Store, clock: FakeClock) -> None:
    assert await store.claim_submission(key(), max_submissions=5, max_ib_calls=10) is None
    k = key()
    await store.put_transaction(k, make_transaction(expires_in=10))
    clock.advance(10)
    assert await store.claim_submission(k, max_submissions=5, max_ib_calls=10) is None


async def test_finishing_keeps_the_counts_claims_made(store: Store) -> None:
    k = key()
    await store.put_transaction(k, make_pending(address_hash="addr-a"))
    claimed = await store.claim_poll(k, now=T0, min_interval=1.0)
    assert claimed is not None
    # A worker finishing from an older copy (no calls counted) cannot wind the count back.
    assert await store.finish_transaction(k, make_done()) is True
    stored = await store.get_transaction(k)
    assert stored is not None
    assert (stored.address_hash, stored.ib_calls, stored.status) == (
        "addr-a",
        1,
        LoginStatus.DONE,
    )
