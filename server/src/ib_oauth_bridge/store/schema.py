"""The SQLite store's schema, and the migrations that bring an older file up to it.

A new file is built exactly as the first release built it and then migrated, step by step, to
the current version: one path for new and old files alike, so a migrated file can never end up
shaped differently from a fresh one. `PRAGMA user_version` records where a file stands.

A step is written once and never edited after a release: files in the field were built by it.
To change the schema, append a step and bump SCHEMA_VERSION.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import sqlite_utils

__all__ = ["SCHEMA_VERSION", "ensure_schema"]

SCHEMA_VERSION = 4


def ensure_schema(db: sqlite_utils.Database, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION. The caller holds a write transaction (BEGIN
    IMMEDIATE), which serialises workers that start together: the first builds or migrates,
    the others wait, then see the version and do nothing. A failed step rolls back whole."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{path} has schema version {version}; this build knows only "
            f"{SCHEMA_VERSION}. Run the newer bridge or use a fresh file."
        )
    for step in _STEPS[version:]:
        step(db)
    if version != SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _table(
    db: sqlite_utils.Database,
    name: str,
    pk: str,
    columns: dict[str, type],
    nullable: Collection[str] = (),
) -> None:
    db.table(name).create(
        columns,
        pk=pk,
        not_null={c for c in columns if c not in nullable},
        strict=True,
    )
    # Every table has an expiry, and purge_expired deletes by it.
    db.table(name).create_index(["expires_at"])


def _create_v1(db: sqlite_utils.Database) -> None:
    """The first release's schema: transactions, grants, codes, refresh tokens."""
    _table(
        db,
        "transactions",
        "key_hash",
        {
            "key_hash": str,
            "client_id": str,
            "redirect_uri": str,
            "state": str,
            "code_challenge": str,
            "code_challenge_method": str,
            "scope": str,
            "resource": str,
            "expires_at": float,
            "status": str,
            "platform_url": str,
            "ib_login_token": str,
            "started_at": float,
            "last_polled_at": float,
            "error": str,
            "redirect_to": str,
        },
        {"state", "resource", "platform_url", "ib_login_token", "error", "redirect_to"},
    )
    _table(
        db,
        "grants",
        "grant_id",
        {
            "grant_id": str,
            "client_id": str,
            "scope": str,
            "resource": str,
            "sid_ciphertext": bytes,
            "platform_url": str,
            "api_v3_url": str,
            "ib_client_id": str,
            "user": str,  # JSON object
            # The grant's `session_expires_at`, named like every other table's expiry so
            # one purge statement and one index shape serve all tables.
            "expires_at": float,
            "created_at": float,
            "last_used_at": float,
            "refresh_count": int,
            "revoked": int,
        },
        {"resource"},
    )
    _table(
        db,
        "codes",
        "key_hash",
        {
            "key_hash": str,
            "grant_id": str,
            "client_id": str,
            "redirect_uri": str,
            "code_challenge": str,
            "code_challenge_method": str,
            "scope": str,
            "resource": str,
            "expires_at": float,
            "used": int,
        },
        {"resource"},
    )
    _table(
        db,
        "refresh_tokens",
        "key_hash",
        {
            "key_hash": str,
            "grant_id": str,
            "client_id": str,
            "scope": str,
            "expires_at": float,
            "used": int,
        },
    )
    # revoke_grant deletes a grant's codes and tokens by grant id.
    db.table("codes").create_index(["grant_id"])
    db.table("refresh_tokens").create_index(["grant_id"])


def _v1_to_v2(db: sqlite_utils.Database) -> None:
    """OpenID Connect nonces, dynamically registered clients, the replay cache, and the
    revocation counter."""
    # Nullable with no default: rows written before OIDC simply have no nonce.
    db.execute("ALTER TABLE transactions ADD COLUMN nonce TEXT")
    db.execute("ALTER TABLE codes ADD COLUMN nonce TEXT")
    _table(
        db,
        "clients",
        "client_id",
        {
            "client_id": str,
            "client_secret_hash": str,  # secret_hash(secret); NULL for a public client
            "token_endpoint_auth_method": str,
            "redirect_uris": str,  # JSON array
            "grant_types": str,  # JSON array
            "response_types": str,  # JSON array
            "scope": str,
            "client_name": str,
            "client_uri": str,
            "logo_uri": str,
            "client_id_issued_at": int,
            # NULL once the client has completed a sign-in: kept until deleted, never purged.
            "expires_at": float,
            "metadata": str,  # JSON object: the rest of the registered metadata
        },
        {"client_secret_hash", "client_name", "client_uri", "logo_uri", "expires_at"},
    )
    _table(db, "replay_cache", "key_hash", {"key_hash": str, "expires_at": float})
    # Counters shared by every process on the file. `revocations` counts revoke_grant calls:
    # a worker that caches live grants drops its cache when the count moves.
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT")
    db.execute("INSERT INTO counters (name, value) VALUES ('revocations', 0)")


def _v2_to_v3(db: sqlite_utils.Database) -> None:
    """Bounded anonymous work: who opened a login transaction (a keyed hash of the client
    address), and how many platform submissions and IB calls it has made."""
    # Rows written before v3 have no address (never counted against one) and no calls yet.
    db.execute("ALTER TABLE transactions ADD COLUMN address_hash TEXT")
    db.execute("ALTER TABLE transactions ADD COLUMN submissions INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE transactions ADD COLUMN ib_calls INTEGER NOT NULL DEFAULT 0")
    # count_live_transactions looks transactions up by address.
    db.table("transactions").create_index(["address_hash"])


def _v3_to_v4(db: sqlite_utils.Database) -> None:
    """Refresh with grace: the sealed answer of a rotation, kept on the rotated token's row for
    the grace window. Nullable: tokens rotated before have none."""
    db.execute("ALTER TABLE refresh_tokens ADD COLUMN successor TEXT")
    db.execute("ALTER TABLE refresh_tokens ADD COLUMN successor_until REAL")


# _STEPS[n] takes a file from version n to n + 1.
_STEPS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _create_v1,
    _v1_to_v2,
    _v2_to_v3,
    _v3_to_v4,
)
assert len(_STEPS) == SCHEMA_VERSION
