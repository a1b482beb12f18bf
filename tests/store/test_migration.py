"""Schema version 2 opens a file made by the previous release (version 1) and keeps its rows.

The v1 file is built from schema_v1.sql: the DDL dumped from a file that release created,
kept verbatim, so these tests do not depend on today's code reproducing yesterday's schema.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_support import (
    FUTURE,
    T0,
    FakeClock,
    key,
    make_client,
    make_code,
    make_grant,
    make_token,
    make_transaction,
)

from ib_oauth_bridge.store import Consumed, LoginStatus, SQLiteStore
from ib_oauth_bridge.store.sqlite import SCHEMA_VERSION

pytestmark = pytest.mark.anyio

SCHEMA_V1 = Path(__file__).with_name("schema_v1.sql")


def make_v1_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SCHEMA_V1.read_text())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    return conn


def shape(path: Path) -> dict[str, object]:
    """Every table's columns (name, type, not null, default, pk) and indexes."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: (
                [tuple(r[1:6]) for r in conn.execute(f"PRAGMA table_info({table!r})")],
                sorted(
                    (
                        idx[1],
                        [c[2] for c in conn.execute(f"PRAGMA index_info({idx[1]!r})")],
                    )
                    for idx in conn.execute(f"PRAGMA index_list({table!r})")
                ),
            )
            for table in tables
        }
    finally:
        conn.close()


async def test_v1_file_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = make_v1_file(path)
    txn_key, code_key, token_key = key(), key(), key()
    txn = make_transaction(status=LoginStatus.PENDING, ib_login_token="sealed", started_at=T0)
    grant = make_grant()
    code, token = make_code(grant.grant_id), make_token(grant.grant_id)
    code.nonce = None  # the release before OIDC had none
    # Rows as release 1 wrote them: no nonce column to write to.
    conn.execute(
        "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            txn_key,
            txn.client_id,
            txn.redirect_uri,
            txn.state,
            txn.code_challenge,
            txn.code_challenge_method,
            txn.scope,
            txn.resource,
            txn.expires_at,
            txn.status.value,
            txn.platform_url,
            txn.ib_login_token,
            txn.started_at,
            txn.last_polled_at,
            txn.error,
            txn.redirect_to,
        ),
    )
    conn.execute(
        "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            grant.grant_id,
            grant.client_id,
            grant.scope,
            grant.resource,
            grant.sid_ciphertext,
            grant.platform_url,
            grant.api_v3_url,
            grant.ib_client_id,
            json.dumps(grant.user),
            grant.session_expires_at,
            grant.created_at,
            grant.last_used_at,
            grant.refresh_count,
            0,
        ),
    )
    conn.execute(
        "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            code_key,
            code.grant_id,
            code.client_id,
            code.redirect_uri,
            code.code_challenge,
            code.code_challenge_method,
            code.scope,
            code.resource,
            code.expires_at,
        ),
    )
    conn.execute(
        "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, 0)",
        (token_key, token.grant_id, token.client_id, token.scope, token.expires_at),
    )
    conn.close()

    async with SQLiteStore(path, clock=FakeClock()) as store:
        assert await store.get_transaction(txn_key) == txn
        assert await store.get_grant(grant.grant_id) == grant
        assert await store.get_refresh_token(token_key) == token
        code.used = True
        assert await store.consume_code(code_key) == Consumed(code, first_use=True)
        # The new columns and tables work on the migrated file.
        assert await store.claim_poll(txn_key, now=T0 + 5, min_interval=1.0) is not None
        client = make_client()
        await store.put_client(client)
        assert await store.get_client(client.client_id) == client
        assert await store.remember(key(), T0 + FUTURE) is True
        nonce_key = key()
        await store.put_transaction(nonce_key, make_transaction(nonce="n"))
        got = await store.get_transaction(nonce_key)
        assert got is not None
        assert got.nonce == "n"
        # v3: a row from before has no address and no counted calls but its poll claim above.
        migrated = await store.get_transaction(txn_key)
        assert migrated is not None
        assert (migrated.address_hash, migrated.submissions, migrated.ib_calls) == (None, 0, 1)
        await store.put_transaction(key(), make_transaction(address_hash="a1"))
        assert await store.count_live_transactions("a1") == 1

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


async def test_migrated_file_is_shaped_like_a_fresh_one(tmp_path: Path) -> None:
    old, fresh = tmp_path / "old.db", tmp_path / "fresh.db"
    make_v1_file(old).close()
    before = shape(old)
    await SQLiteStore(old).close()
    await SQLiteStore(fresh).close()
    assert shape(old) == shape(fresh)
    assert shape(old) != before
    assert {"clients", "replay_cache"} <= set(shape(old)) - set(before)


async def test_failed_migration_leaves_the_v1_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = make_v1_file(path)
    # A file the migration cannot apply to: its second ALTER TABLE will fail.
    conn.execute("ALTER TABLE codes ADD COLUMN nonce TEXT")
    conn.close()
    before = shape(path)

    with pytest.raises(sqlite3.OperationalError, match="duplicate column"):
        SQLiteStore(path)

    # All or nothing: the first ALTER TABLE was rolled back, the version is still 1.
    assert shape(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
