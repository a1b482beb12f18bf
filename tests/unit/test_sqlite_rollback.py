"""A write transaction that SQLite has already rolled back itself (it does on a full disk or an
I/O error) ends with the error that ended it, not with a failing ROLLBACK that hides it (and
that would be a 500 where the store's failure is a 503)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ib_oauth_bridge.store import SQLiteStore, store_failure


def test_the_error_that_ended_the_transaction_is_the_one_raised(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "bridge.db")

    def full_disk() -> None:
        with store._write_txn() as conn:
            conn.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(sqlite3.OperationalError) as raised:
        full_disk()
    assert str(raised.value) == "database or disk is full"
    assert store_failure(raised.value) is not None
    assert not store._conn().in_transaction
    with store._write_txn() as again:  # the connection is usable
        again.execute("SELECT 1")
