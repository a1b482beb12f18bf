"""The store's admin side, on both backends: listing live grants (the admin CLI's `grants list`,
and later the admin page), and backup and restore (`store backup` / `store restore`)."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_support import (
    FUTURE,
    T0,
    Backend,
    FakeClock,
    RedisBackend,
    SQLiteBackend,
    key,
    make_client,
    make_code,
    make_grant,
    make_token,
)

from ib_oauth_bridge.store import GrantSummary, Store
from ib_oauth_bridge.store.backup import BackupError, backup, restore
from ib_oauth_bridge.store.schema import SCHEMA_VERSION

pytestmark = pytest.mark.anyio


@pytest.fixture
def other_backend(backend: Backend, tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    """Fresh, empty storage of the same kind as `backend`: where a backup is restored."""
    if isinstance(backend, SQLiteBackend):
        return SQLiteBackend(str(tmp_path / "restored" / "bridge.db"))
    assert isinstance(backend, RedisBackend)
    return RedisBackend(request.getfixturevalue("redis_server").url_for_test())


@pytest.fixture
async def other(other_backend: Backend, clock: FakeClock) -> AsyncIterator[Store]:
    s = other_backend.open(clock)
    yield s
    await s.close()


# -- list_grants -----------------------------------------------------------------------------


async def test_list_grants_gives_live_grants_in_id_order_with_what_an_operator_needs(
    store: Store,
) -> None:
    grants = [make_grant(grant_id=f"g-{n}") for n in (3, 1, 2)]
    for grant in grants:
        await store.put_grant(grant)
    await store.touch_grant("g-2", last_used_at=T0 + 30, refreshed=True)

    listed = await store.list_grants()

    assert [g.grant_id for g in listed] == ["g-1", "g-2", "g-3"]
    second = listed[1]
    assert second == GrantSummary(
        grant_id="g-2",
        client_id="client-1",
        user_id="u-1",
        user_email="zoe@example.com",
        user_name="Zo\u00eb Ng",
        scope="openid profile",
        platform_url="https://acme.intelligencebank.com",
        created_at=T0,
        last_used_at=T0 + 30,
        refresh_count=1,
        session_expires_at=T0 + FUTURE,
    )


async def test_a_listed_grant_never_carries_the_sid(store: Store) -> None:
    await store.put_grant(make_grant(grant_id="g-1"))
    (listed,) = await store.list_grants()
    names = {f.name for f in dataclasses.fields(listed)}
    assert not names & {"sid", "sid_ciphertext", "api_v3_url", "ib_client_id"}
    assert "not-really-encrypted" not in repr(listed)


async def test_revoked_and_ended_grants_are_not_listed(store: Store, clock: FakeClock) -> None:
    await store.put_grant(make_grant(grant_id="g-live"))
    await store.put_grant(make_grant(grant_id="g-revoked"))
    await store.put_grant(make_grant(grant_id="g-short", expires_in=10))
    await store.revoke_grant("g-revoked")
    clock.advance(10)
    assert [g.grant_id for g in await store.list_grants()] == ["g-live"]


async def test_list_grants_pages_after_an_id(store: Store) -> None:
    for n in range(5):
        await store.put_grant(make_grant(grant_id=f"g-{n}"))
    first = await store.list_grants(limit=2)
    second = await store.list_grants(after=first[-1].grant_id, limit=2)
    rest = await store.list_grants(after=second[-1].grant_id, limit=2)
    assert [g.grant_id for g in first + second + rest] == [f"g-{n}" for n in range(5)]
    assert await store.list_grants(limit=0) == []


async def test_list_grants_filters_by_client_and_by_user_id_or_email(store: Store) -> None:
    mine = make_grant(grant_id="g-a")
    other_client = dataclasses.replace(make_grant(grant_id="g-b"), client_id="client-2")
    other_user = dataclasses.replace(
        make_grant(grant_id="g-c"), user={"sub": "u-2", "email": "ann@example.com"}
    )
    for grant in (mine, other_client, other_user):
        await store.put_grant(grant)

    async def ids(
        *, user: str | None = None, client_id: str | None = None, limit: int = 100
    ) -> list[str]:
        listed = await store.list_grants(user=user, client_id=client_id, limit=limit)
        return [g.grant_id for g in listed]

    assert await ids(client_id="client-2") == ["g-b"]
    assert await ids(user="u-2") == ["g-c"]
    assert await ids(user="ANN@Example.com") == ["g-c"]
    assert await ids(user="zoe@example.com", client_id="client-1") == ["g-a"]
    assert await ids(user="nobody@example.com") == []
    # A filter pages like the whole list: the limit counts matches only.
    await store.put_grant(make_grant(grant_id="g-d"))
    assert await ids(user="zoe@example.com", limit=1) == ["g-a"]


# -- backup and restore ----------------------------------------------------------------------


async def fill(store: Store) -> dict[str, str]:
    """A store with one of everything; the keys it was written under."""
    keys = {"code": key(), "token": key()}
    await store.put_grant(make_grant(grant_id="g-1"))
    await store.put_grant(make_grant(grant_id="g-revoked"))
    await store.revoke_grant("g-revoked")
    await store.put_code(keys["code"], make_code("g-1"))
    await store.put_refresh_token(keys["token"], make_token("g-1"))
    await store.put_client(make_client("dyn-kept", expires_in=None))
    return keys


async def test_a_restored_backup_holds_every_live_record_and_works(
    store: Store, other: Store, tmp_path: Path
) -> None:
    keys = await fill(store)
    path = tmp_path / "backup"

    made = await backup(store, path)
    result = await restore(other, path)

    assert made.records > 0
    assert result.records > 0
    grant = await other.get_grant("g-1")
    assert grant == await store.get_grant("g-1")
    assert await other.get_grant("g-revoked") is None
    assert await other.list_clients() == await store.list_clients()
    assert await other.revocation_count() == await store.revocation_count()
    # Single use still holds in the copy: the code and the token are consumed once there.
    consumed = await other.consume_code(keys["code"])
    assert consumed.record is not None
    assert consumed.first_use
    assert (await other.consume_code(keys["code"])).first_use is False
    token = await other.consume_refresh_token(keys["token"])
    assert token.record is not None
    assert token.first_use
    # Revocation works on restored records: the grant's token goes with it.
    await other.revoke_grant("g-1")
    assert await other.get_refresh_token(keys["token"]) is None


async def test_a_backup_is_owner_only_and_never_overwrites(store: Store, tmp_path: Path) -> None:
    await fill(store)
    path = tmp_path / "backup"
    await backup(store, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(BackupError, match="exists"):
        await backup(store, path)
    assert path.read_bytes() == before
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []


async def test_a_backup_holds_hashes_and_sealed_values_only(store: Store, tmp_path: Path) -> None:
    await store.put_grant(make_grant(grant_id="g-1"))
    await store.put_refresh_token("a" * 64, make_token("g-1"))
    path = tmp_path / "backup"
    await backup(store, path)
    raw = path.read_bytes()
    assert b"a" * 64 in raw  # the key, a hash, as stored
    # The sid is the sealed blob the grant holds (base64 in Redis's JSON), as stored.
    assert b"not-really-encrypted" in raw or b"AQD/bm90LXJlYWxseS1lbmNyeXB0ZWQA" in raw


async def test_restore_refuses_a_store_that_holds_records_unless_forced(
    store: Store, other: Store, tmp_path: Path
) -> None:
    await fill(store)
    path = tmp_path / "backup"
    await backup(store, path)
    await other.put_grant(make_grant(grant_id="g-there"))

    with pytest.raises(BackupError, match="not empty"):
        await restore(other, path)
    assert await other.get_grant("g-1") is None

    await restore(other, path, force=True)
    assert await other.get_grant("g-1") is not None


async def test_restore_keeps_expiry(
    store: Store, other: Store, clock: FakeClock, tmp_path: Path
) -> None:
    await store.put_grant(make_grant(grant_id="g-short", expires_in=30))
    path = tmp_path / "backup"
    await backup(store, path)
    await restore(other, path)
    assert await other.get_grant("g-short") is not None
    clock.advance(30)
    assert await other.get_grant("g-short") is None


async def test_restore_refuses_what_is_not_a_backup(
    store: Store, other: Store, tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00not a backup\n" * 100)
    with pytest.raises(BackupError):
        await restore(other, junk)
    with pytest.raises(BackupError, match="not a file"):
        await restore(other, tmp_path / "missing")
    assert await other.list_grants() == []


@pytest.mark.parametrize("backend", ["redis"], indirect=True)  # a Redis backup's format
async def test_a_redis_backup_restores_only_under_its_own_prefix_with_expiry(
    backend: Backend,
    store: Store,
    other: Store,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    await fill(store)
    path = tmp_path / "backup"
    await backup(store, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == "ib-oauth-bridge-redis-backup"
    # Every key is relative to the prefix, whatever the file says: none can land outside it.
    assert all(not line["key"].startswith(store.target.prefix) for line in lines[1:])  # type: ignore[attr-defined]

    bad = tmp_path / "bad"
    bad.write_text(path.read_text().replace('"version":1', '"version":99', 1))
    with pytest.raises(BackupError, match="version 99"):
        await restore(other, bad)
    for line in (
        '{"key": "", "type": "hash", "value": ["a", "b"]}',
        '{"key": "g:x", "type": "hash", "value": ["odd"]}',
        '{"key": "gk:x", "type": "zset", "value": ["m", "not-a-score"]}',
        '{"key": "n:rev", "type": "string", "value": ["1"], "expires_at_ms": "soon"}',
        '{"key": "x", "type": "list", "value": ["a"]}',
        "[1, 2]",
    ):
        broken = tmp_path / "broken"
        broken.write_text(path.read_text() + line + "\n")
        with pytest.raises(BackupError, match="line"):
            await restore(other, broken)
    assert await other.list_grants() == []

    # Restored with the expiry it had: Redis drops it when the grant's session ends, and a key
    # without one (the revocation counter) stays without.
    await restore(other, path)
    redis = request.getfixturevalue("redis_server").client()
    ns = other.target.namespace  # type: ignore[attr-defined]
    assert 0 < redis.pttl(f"{ns}g:g-1") <= FUTURE * 1000
    assert redis.pttl(f"{ns}n:rev") == -1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite's schema version
async def test_a_sqlite_restore_checks_the_schema_version(
    backend: Backend, store: Store, other: Store, tmp_path: Path
) -> None:
    await fill(store)
    path = tmp_path / "backup"
    await backup(store, path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(BackupError, match="schema version"):
        await restore(other, path)
    assert await other.list_grants() == []
