"""What only the SQLite backend promises: its file, its pragmas, its durability, its schema."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
import signal
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from store_support import (
    FakeClock,
    key,
    make_code,
    make_grant,
    make_transaction,
    write_then_die,
)

from ib_oauth_bridge.store import SidCipher, SQLiteStore, StoreClosedError
from ib_oauth_bridge.store.sqlite import SCHEMA_VERSION

pytestmark = pytest.mark.anyio

TABLES = ("transactions", "grants", "codes", "refresh_tokens", "clients", "replay_cache")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "bridge.db"


def raw(path: Path, sql: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def open_store(path: Path, clock: FakeClock | None = None) -> SQLiteStore:
    return SQLiteStore(path, clock=clock or FakeClock())


def test_creates_parent_dir_and_owner_only_file(db_path: Path) -> None:
    asyncio.run(open_store(db_path).close())
    assert db_path.is_file()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


async def test_pragmas(db_path: Path) -> None:
    store = open_store(db_path)
    try:
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        await store.close()
    # WAL is a property of the file, seen by any other connection too.
    assert raw(db_path, "PRAGMA journal_mode") == "wal"


async def test_schema_is_idempotent_and_keeps_data(db_path: Path) -> None:
    first = open_store(db_path)
    k = key()
    await first.put_transaction(k, make_transaction())
    second = open_store(db_path)
    assert await second.get_transaction(k) == await first.get_transaction(k)
    await first.close()
    await second.close()
    third = open_store(db_path)
    assert await third.get_transaction(k) is not None
    await third.close()


async def test_every_table_has_an_expiry_index(db_path: Path) -> None:
    await open_store(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        for table in TABLES:
            indexed = {
                conn.execute(f"PRAGMA index_info({row[1]!r})").fetchone()[2]
                for row in conn.execute(f"PRAGMA index_list({table!r})")
            }
            assert "expires_at" in indexed, table
    finally:
        conn.close()


async def test_refuses_newer_schema(db_path: Path) -> None:
    await open_store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version"):
        open_store(db_path)


async def test_sid_never_in_plaintext_on_disk(db_path: Path) -> None:
    sid = "SID-" + secrets.token_hex(16)
    cipher = SidCipher(SidCipher.generate_key())
    grant = make_grant()
    grant.sid_ciphertext = cipher.encrypt(sid, grant_id=grant.grant_id)
    store = open_store(db_path)
    await store.put_grant(grant)
    got = await store.get_grant(grant.grant_id)
    assert got is not None
    assert cipher.decrypt(got.sid_ciphertext, grant_id=grant.grant_id) == sid

    def files() -> list[Path]:
        return sorted(db_path.parent.glob(db_path.name + "*"))

    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists()
    assert wal.stat().st_size > 0
    needles = (sid.encode(), sid.encode("utf-16-le"), sid.encode().hex().encode())
    for f in files():
        data = f.read_bytes()
        assert not any(n in data for n in needles), f.name
    # The ciphertext itself is there, so the grep would have found a plaintext sid.
    assert any(grant.sid_ciphertext in f.read_bytes() for f in files())

    await store.close()  # checkpoints the WAL into the main file
    for f in files():
        assert sid.encode() not in f.read_bytes(), f.name


async def test_survives_sigkill_right_after_write(db_path: Path) -> None:
    await open_store(db_path).close()  # schema exists; the child only writes
    txn_key, code_key = key(), key()
    txn, code = make_transaction(), make_code()
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=write_then_die, args=(str(db_path), txn_key, txn, code_key, code))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL  # died without close() or any cleanup

    store = open_store(db_path)
    try:
        assert await store.get_transaction(txn_key) == txn
        consumed = await store.consume_code(code_key)
        assert consumed.first_use is True
        code.used = True
        assert consumed.record == code
    finally:
        await store.close()


async def test_one_connection_per_thread(db_path: Path) -> None:
    store = open_store(db_path)
    seen: list[int] = []

    def grab() -> None:
        seen.append(id(store._conn()))
        assert asyncio.run(store.ping())

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 4
    assert store._conn() is store._conn()
    await store.close()


async def test_use_after_close_is_an_error(db_path: Path) -> None:
    store = open_store(db_path)
    await store.close()
    assert await store.ping() is False
    with pytest.raises(StoreClosedError):
        await store.get_transaction(key())
    with pytest.raises(StoreClosedError):
        await store.remember(key(), 1.0)


async def test_async_context_manager_closes(db_path: Path) -> None:
    async with open_store(db_path) as store:
        assert await store.ping() is True
    assert await store.ping() is False


async def test_writer_waits_for_a_busy_lock(db_path: Path) -> None:
    """Another process holding the write lock briefly delays a write; it does not fail it."""
    store = open_store(db_path)
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        released.set()
        blocker.execute("COMMIT")

    timer = threading.Timer(0.3, release)  # a real wait: this is about SQLite's busy timeout
    timer.start()
    try:
        k = key()
        await store.put_code(k, make_code())  # waits on the lock instead of failing
        assert released.is_set()
        assert (await store.consume_code(k)).first_use is True
    finally:
        timer.join()
        blocker.close()
        await store.close()


async def test_purge_removes_revoked_grant_only_at_its_end(db_path: Path) -> None:
    clock = FakeClock()
    store = open_store(db_path, clock)
    grant = make_grant(expires_in=100)
    await store.put_grant(grant)
    await store.revoke_grant(grant.grant_id)
    assert await store.purge_expired() == 0  # kept: it blocks tokens stored late (see sqlite.py)
    assert raw(db_path, "SELECT revoked FROM grants") == 1
    clock.advance(200)
    assert await store.purge_expired() == 1
    assert raw(db_path, "SELECT count(*) FROM grants") == 0
    await store.close()
