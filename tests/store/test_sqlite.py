"""What only the SQLite backend promises: its file, its pragmas, its durability."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from store_support import key, make_code, make_grant, make_transaction, write_then_die

from ib_oauth_bridge.store import SidCipher, SQLiteStore, StoreClosedError
from ib_oauth_bridge.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "bridge.db"


def raw(path: Path, sql: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_creates_parent_dir_and_owner_only_file(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    assert db_path.is_file()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_pragmas(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    try:
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()
    # WAL is a property of the file, seen by any other connection too.
    assert raw(db_path, "PRAGMA journal_mode") == "wal"


def test_schema_is_idempotent_and_keeps_data(db_path: Path) -> None:
    first = SQLiteStore(db_path)
    k = key()
    first.put_transaction(k, make_transaction())
    second = SQLiteStore(db_path)
    assert second.get_transaction(k) == first.get_transaction(k)
    first.close()
    second.close()
    third = SQLiteStore(db_path)
    assert third.get_transaction(k) is not None
    third.close()


def test_every_table_has_an_expiry_index(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        for table in ("transactions", "grants", "codes", "refresh_tokens"):
            indexed = {
                conn.execute(f"PRAGMA index_info({row[1]!r})").fetchone()[2]
                for row in conn.execute(f"PRAGMA index_list({table!r})")
            }
            assert "expires_at" in indexed, table
    finally:
        conn.close()


def test_refuses_newer_schema(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version"):
        SQLiteStore(db_path)


def test_sid_never_in_plaintext_on_disk(db_path: Path) -> None:
    sid = "SID-" + secrets.token_hex(16)
    cipher = SidCipher(SidCipher.generate_key())
    grant = make_grant()
    grant.sid_ciphertext = cipher.encrypt(sid, grant_id=grant.grant_id)
    store = SQLiteStore(db_path)
    store.put_grant(grant)
    got = store.get_grant(grant.grant_id)
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

    store.close()  # checkpoints the WAL into the main file
    for f in files():
        assert sid.encode() not in f.read_bytes(), f.name


def test_survives_sigkill_right_after_write(db_path: Path) -> None:
    SQLiteStore(db_path).close()  # schema exists; the child only writes
    txn_key, code_key = key(), key()
    txn, code = make_transaction(), make_code()
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=write_then_die, args=(str(db_path), txn_key, txn, code_key, code))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL  # died without close() or any cleanup

    store = SQLiteStore(db_path)
    try:
        assert store.get_transaction(txn_key) == txn
        consumed = store.consume_code(code_key)
        assert consumed.first_use is True
        assert consumed.record is not None
        assert consumed.record.grant_id == code.grant_id
    finally:
        store.close()


def test_one_connection_per_thread(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    seen: list[int] = []

    def grab() -> None:
        seen.append(id(store._conn()))
        assert store.ping()

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 4
    assert store._conn() is store._conn()
    store.close()


def test_use_after_close_is_an_error(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    store.close()
    assert store.ping() is False
    with pytest.raises(StoreClosedError):
        store.get_transaction(key())


def test_writer_waits_for_a_busy_lock(db_path: Path) -> None:
    """Another process holding the write lock briefly delays a write; it does not fail it."""
    store = SQLiteStore(db_path)
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        released.set()
        blocker.execute("COMMIT")

    timer = threading.Timer(0.3, release)
    timer.start()
    try:
        k = key()
        store.put_code(k, make_code())  # waits on the lock instead of failing with "locked"
        assert released.is_set()
        assert store.consume_code(k).first_use is True
    finally:
        timer.join()
        blocker.close()
        store.close()


def test_purge_removes_revoked_grant_only_at_its_end(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    grant = make_grant(expires_in=100)
    store.put_grant(grant)
    store.revoke_grant(grant.grant_id)
    assert store.purge_expired() == 0  # kept: it blocks tokens stored late (see sqlite.py)
    assert store.purge_expired(now=time.time() + 200) == 1
    assert os.path.exists(db_path)
    store.close()
