"""The `ClientStore` contract: clients registered through RFC 7591."""

from __future__ import annotations

import pytest
from store_support import Backend, FakeClock, at, make_client, purged

from ib_oauth_bridge.store import Store

pytestmark = pytest.mark.anyio


async def test_client_round_trip(store: Store) -> None:
    client = make_client()
    await store.put_client(client)
    got = await store.get_client(client.client_id)
    assert got == client
    assert got is not None
    assert isinstance(got.redirect_uris, tuple)  # not the list JSON would give back
    assert isinstance(got.grant_types, tuple)
    assert isinstance(got.response_types, tuple)
    assert await store.get_client("unknown") is None


async def test_public_client_round_trip(store: Store) -> None:
    client = make_client(
        client_secret_hash=None,
        token_endpoint_auth_method="none",
        client_name=None,
        client_uri=None,
        redirect_uris=(),
        metadata={},
    )
    await store.put_client(client)
    assert await store.get_client(client.client_id) == client


async def test_put_client_again_overwrites(store: Store) -> None:
    client = make_client()
    await store.put_client(client)
    client.redirect_uris = ("https://other.example/cb",)
    client.metadata = {"software_version": "2"}
    await store.put_client(client)
    assert await store.get_client(client.client_id) == client


async def test_unused_client_expires(store: Store, clock: FakeClock) -> None:
    client = make_client(expires_in=100)
    await store.put_client(client)
    clock.advance(99)
    assert await store.get_client(client.client_id) == client
    clock.advance(1)
    assert await store.get_client(client.client_id) is None
    assert await store.list_clients() == []


async def test_used_client_is_kept(store: Store, clock: FakeClock) -> None:
    client = make_client(expires_in=100)
    await store.put_client(client)
    await store.mark_client_used(client.client_id)

    clock.advance(10_000)
    got = await store.get_client(client.client_id)
    assert got is not None
    assert got.expires_at is None
    client.expires_at = None
    assert got == client
    assert await store.purge_expired() == 0


async def test_mark_used_does_not_revive_an_expired_client(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    client = make_client(expires_in=100)
    await store.put_client(client)
    clock.advance(100)
    await store.mark_client_used(client.client_id)
    assert await store.get_client(client.client_id) is None
    assert await store.list_clients() == []
    assert await store.purge_expired() == purged(backend, 1)


async def test_mark_unknown_client_used_is_harmless(store: Store) -> None:
    await store.mark_client_used("unknown")
    assert await store.get_client("unknown") is None


async def test_delete_client(store: Store) -> None:
    client, other = make_client(), make_client()
    await store.put_client(client)
    await store.put_client(other)
    assert await store.delete_client(client.client_id) is True
    assert await store.get_client(client.client_id) is None
    assert await store.delete_client(client.client_id) is False
    assert await store.delete_client("unknown") is False
    assert await store.get_client(other.client_id) == other


async def test_delete_expired_client_reports_nothing_deleted(
    store: Store, clock: FakeClock
) -> None:
    client = make_client(expires_in=5)
    await store.put_client(client)
    clock.advance(5)
    # It was already gone to every reader; deleting it again is not news.
    assert await store.delete_client(client.client_id) is False


async def test_list_clients(store: Store) -> None:
    assert await store.list_clients() == []
    later = make_client("b-later", client_id_issued_at=int(at(50)))
    first = make_client("z-first")
    kept = make_client("a-kept", expires_in=None)
    expired = make_client("c-expired", expires_in=-1)
    for client in (later, first, kept, expired):
        await store.put_client(client)
    # Oldest registration first, then by id; an expired one is not listed.
    assert await store.list_clients() == [kept, first, later]
