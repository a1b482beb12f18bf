"""The embedded `Store`: one SQLite file, shared by every worker process on the host.

Connection model: one connection per (process, thread), kept in a `threading.local`.
  * WAL lets readers in different threads and processes proceed while one writer writes; a
    single shared connection behind a lock would serialise every read as well, and `get_grant`
    runs on every proxied request.
  * A connection must never cross `fork()` (SQLite forbids it), so each cached connection
    remembers the pid that opened it; a forked child opens its own instead of inheriting.
  * Connections run in autocommit mode (`isolation_level=None`): a plain statement commits on
    its own and no implicit transaction lingers holding an old WAL snapshot. Multi-statement
    changes open `BEGIN IMMEDIATE` explicitly, which takes the write lock up front, so two
    processes can never both read "unused" and both mark a code used, and a writer never has
    to upgrade a read snapshot (the SQLITE_BUSY_SNAPSHOT trap of deferred transactions).

sqlite-utils builds the schema and writes the plain put-records; the single-use transitions,
revocation and hot-path reads are hand-written SQL because their atomicity and cost matter.

Revocation: `revoke_grant` marks the grant revoked and deletes its codes and refresh tokens
in one transaction, so they read as unknown (None), not as replays. The revoked grant row is
kept until its session end: reads of codes and tokens also check it, which closes the race
where a refresh that was already in flight stores a new token after the revocation, and
`put_grant` can never clear the flag again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import cast

import sqlite_utils

from .base import (
    AuthorizationCode,
    Consumed,
    Grant,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StoreClosedError"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000

_TABLES = ("transactions", "grants", "codes", "refresh_tokens")
_SINGLE_USE = ("codes", "refresh_tokens")


# SQL below is assembled only from the constant table names above, never from input (S608).
def _live(table: str) -> str:
    # A code or token is live while unexpired and while its grant has not been revoked (see
    # the module docstring for why revocation is checked here as well as by deletion).
    return (
        f"{table}.key_hash = ? AND {table}.expires_at > ? AND NOT EXISTS ("  # noqa: S608
        f"SELECT 1 FROM grants g WHERE g.grant_id = {table}.grant_id AND g.revoked = 1)"
    )


_SELECT_LIVE = {t: f"SELECT * FROM {t} WHERE {_live(t)}" for t in _SINGLE_USE}  # noqa: S608
_MARK_USED = {t: f"UPDATE {t} SET used = 1 WHERE used = 0 AND {_live(t)}" for t in _SINGLE_USE}  # noqa: S608
_PURGE = {t: f"DELETE FROM {t} WHERE expires_at <= ?" for t in _TABLES}  # noqa: S608


class StoreClosedError(RuntimeError):
    """The store was used after `close()`."""


class _Local(threading.local):
    db: sqlite_utils.Database | None = None
    pid: int = 0


class SQLiteStore:
    """`Store` on a SQLite file in WAL mode. Safe for many threads and processes on one host."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = _Local()
        self._lock = threading.Lock()
        # Every connection this store opened, with the pid that opened it, so close() can
        # reach connections owned by other threads (and skip ones inherited across fork).
        self._opened: list[tuple[int, sqlite_utils.Database]] = []
        self._closed = False
        self._create_file()
        self._ensure_schema(self._db())

    # -- connections -----------------------------------------------------------------------

    def _create_file(self) -> None:
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file owner-only before SQLite does (with the umask's looser mode): it
        # holds ciphertexts and hashes, and SQLite gives -wal and -shm the same mode.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    def _connect(self) -> sqlite_utils.Database:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            # Only the owning thread uses it; close() may run on another thread at shutdown.
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._enable_wal(conn)
            # NORMAL in WAL mode loses no committed transaction when a process dies; only an
            # OS crash or power cut can drop the last few, and those cost at most a login retry.
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection) -> None:
        # journal_mode is persistent in the file, so usually this is a no-op read. Switching
        # needs an exclusive lock, and several workers starting at once can collide on it even
        # with a busy timeout, hence the retry.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not enable WAL (journal_mode={mode})")
            return

    def _db(self) -> sqlite_utils.Database:
        if self._closed:
            # Checked on every call: other threads still hold their (now closed) connections.
            raise StoreClosedError(f"{self!r} is closed")
        local = self._local
        pid = os.getpid()
        if local.db is None or local.pid != pid:
            db = self._connect()
            with self._lock:
                self._opened.append((pid, db))
            local.db, local.pid = db, pid
        return local.db

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self._db().conn
        return conn

    @contextlib.contextmanager
    def _write_txn(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        pid = os.getpid()
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for owner, db in opened:
            if owner == pid:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
        self._local.db = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- schema ----------------------------------------------------------------------------

    def _ensure_schema(self, db: sqlite_utils.Database) -> None:
        # BEGIN IMMEDIATE serialises workers that start together: the first creates the
        # schema, the others wait, then see the version and do nothing.
        with self._write_txn():
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {version}; this build knows only "
                    f"{SCHEMA_VERSION}. Run the newer bridge or use a fresh file."
                )
            self._create_schema(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _create_schema(db: sqlite_utils.Database) -> None:
        def table(
            name: str, pk: str, columns: dict[str, type], nullable: Collection[str] = ()
        ) -> None:
            db.table(name).create(
                columns,
                pk=pk,
                not_null={c for c in columns if c not in nullable},
                strict=True,
                if_not_exists=True,
            )
            db.table(name).create_index(["expires_at"], if_not_exists=True)

        table(
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
        table(
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
                # one purge statement and one index shape serve all four tables.
                "expires_at": float,
                "created_at": float,
                "last_used_at": float,
                "refresh_count": int,
                "revoked": int,
            },
            {"resource"},
        )
        table(
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
        table(
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
        db.table("codes").create_index(["grant_id"], if_not_exists=True)
        db.table("refresh_tokens").create_index(["grant_id"], if_not_exists=True)

    # -- login transactions ----------------------------------------------------------------

    def put_transaction(self, key: str, transaction: LoginTransaction) -> None:
        t = transaction
        self._db().table("transactions").insert(
            {
                "key_hash": key,
                "client_id": t.client_id,
                "redirect_uri": t.redirect_uri,
                "state": t.state,
                "code_challenge": t.code_challenge,
                "code_challenge_method": t.code_challenge_method,
                "scope": t.scope,
                "resource": t.resource,
                "expires_at": t.expires_at,
                "status": LoginStatus(t.status).value,
                "platform_url": t.platform_url,
                "ib_login_token": t.ib_login_token,
                "started_at": t.started_at,
                "last_polled_at": t.last_polled_at,
                "error": t.error,
                "redirect_to": t.redirect_to,
            },
            replace=True,
        )

    def get_transaction(self, key: str) -> LoginTransaction | None:
        row = _one(
            self._conn(),
            "SELECT * FROM transactions WHERE key_hash = ? AND expires_at > ?",
            (key, time.time()),
        )
        if row is None:
            return None
        return LoginTransaction(
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            state=row["state"],
            code_challenge=row["code_challenge"],
            code_challenge_method=row["code_challenge_method"],
            scope=row["scope"],
            resource=row["resource"],
            expires_at=row["expires_at"],
            status=LoginStatus(row["status"]),
            platform_url=row["platform_url"],
            ib_login_token=row["ib_login_token"],
            started_at=row["started_at"],
            last_polled_at=row["last_polled_at"],
            error=row["error"],
            redirect_to=row["redirect_to"],
        )

    def delete_transaction(self, key: str) -> None:
        self._conn().execute("DELETE FROM transactions WHERE key_hash = ?", (key,))

    # -- grants ----------------------------------------------------------------------------

    def put_grant(self, grant: Grant) -> None:
        g = grant
        # Hand-written rather than sqlite-utils' upsert: revocation must be sticky, so a
        # read-modify-write racing with revoke_grant cannot bring the grant back.
        self._conn().execute(
            """
            INSERT INTO grants (
                grant_id, client_id, scope, resource, sid_ciphertext, platform_url,
                api_v3_url, ib_client_id, user, expires_at, created_at, last_used_at,
                refresh_count, revoked
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (grant_id) DO UPDATE SET
                client_id = excluded.client_id,
                scope = excluded.scope,
                resource = excluded.resource,
                sid_ciphertext = excluded.sid_ciphertext,
                platform_url = excluded.platform_url,
                api_v3_url = excluded.api_v3_url,
                ib_client_id = excluded.ib_client_id,
                user = excluded.user,
                expires_at = excluded.expires_at,
                created_at = excluded.created_at,
                last_used_at = excluded.last_used_at,
                refresh_count = excluded.refresh_count,
                revoked = max(grants.revoked, excluded.revoked)
            """,
            (
                g.grant_id,
                g.client_id,
                g.scope,
                g.resource,
                bytes(g.sid_ciphertext),
                g.platform_url,
                g.api_v3_url,
                g.ib_client_id,
                json.dumps(g.user, ensure_ascii=False, sort_keys=True),
                g.session_expires_at,
                g.created_at,
                g.last_used_at,
                g.refresh_count,
                int(g.revoked),
            ),
        )

    def get_grant(self, grant_id: str) -> Grant | None:
        row = _one(
            self._conn(),
            "SELECT * FROM grants WHERE grant_id = ? AND revoked = 0 AND expires_at > ?",
            (grant_id, time.time()),
        )
        if row is None:
            return None
        return Grant(
            grant_id=row["grant_id"],
            client_id=row["client_id"],
            scope=row["scope"],
            resource=row["resource"],
            sid_ciphertext=bytes(row["sid_ciphertext"]),
            platform_url=row["platform_url"],
            api_v3_url=row["api_v3_url"],
            ib_client_id=row["ib_client_id"],
            user=cast(dict[str, str], json.loads(row["user"])),
            session_expires_at=row["expires_at"],
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            refresh_count=row["refresh_count"],
            revoked=bool(row["revoked"]),
        )

    def touch_grant(self, grant_id: str, *, last_used_at: float, refreshed: bool) -> None:
        # max(): workers touch concurrently and their clocks/requests interleave; the
        # recorded last use must never move backwards.
        self._conn().execute(
            "UPDATE grants SET last_used_at = max(last_used_at, ?),"
            " refresh_count = refresh_count + ? WHERE grant_id = ? AND revoked = 0",
            (last_used_at, 1 if refreshed else 0, grant_id),
        )

    def revoke_grant(self, grant_id: str) -> None:
        with self._write_txn() as conn:
            conn.execute("UPDATE grants SET revoked = 1 WHERE grant_id = ?", (grant_id,))
            conn.execute("DELETE FROM codes WHERE grant_id = ?", (grant_id,))
            conn.execute("DELETE FROM refresh_tokens WHERE grant_id = ?", (grant_id,))

    # -- authorization codes ---------------------------------------------------------------

    def put_code(self, key: str, code: AuthorizationCode) -> None:
        c = code
        self._db().table("codes").insert(
            {
                "key_hash": key,
                "grant_id": c.grant_id,
                "client_id": c.client_id,
                "redirect_uri": c.redirect_uri,
                "code_challenge": c.code_challenge,
                "code_challenge_method": c.code_challenge_method,
                "scope": c.scope,
                "resource": c.resource,
                "expires_at": c.expires_at,
                "used": int(c.used),
            },
            replace=True,
        )

    def consume_code(self, key: str) -> Consumed[AuthorizationCode]:
        row, first_use = self._consume("codes", key)
        if row is None:
            return Consumed(None)
        return Consumed(_code_from_row(row), first_use=first_use)

    # -- refresh tokens --------------------------------------------------------------------

    def put_refresh_token(self, key: str, token: RefreshToken) -> None:
        self._db().table("refresh_tokens").insert(
            {
                "key_hash": key,
                "grant_id": token.grant_id,
                "client_id": token.client_id,
                "scope": token.scope,
                "expires_at": token.expires_at,
                "used": int(token.used),
            },
            replace=True,
        )

    def consume_refresh_token(self, key: str) -> Consumed[RefreshToken]:
        row, first_use = self._consume("refresh_tokens", key)
        if row is None:
            return Consumed(None)
        return Consumed(_token_from_row(row), first_use=first_use)

    def get_refresh_token(self, key: str) -> RefreshToken | None:
        row = _one(self._conn(), _SELECT_LIVE["refresh_tokens"], (key, time.time()))
        return None if row is None else _token_from_row(row)

    # -- single use ------------------------------------------------------------------------

    def _consume(self, table: str, key: str) -> tuple[sqlite3.Row | None, bool]:
        now = time.time()
        with self._write_txn() as conn:
            # The check-and-set is one statement under the write lock: of N concurrent
            # consumers in any number of processes, exactly one sees rowcount 1.
            first_use = conn.execute(_MARK_USED[table], (key, now)).rowcount == 1
            row = _one(conn, _SELECT_LIVE[table], (key, now))
        return row, first_use

    # -- housekeeping ----------------------------------------------------------------------

    def purge_expired(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        removed = 0
        with self._write_txn() as conn:
            for table in _TABLES:
                removed += conn.execute(_PURGE[table], (cutoff,)).rowcount
        return removed

    def ping(self) -> bool:
        try:
            return bool(self._conn().execute("SELECT 1").fetchone()[0] == 1)
        except (sqlite3.Error, StoreClosedError):
            return False


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> sqlite3.Row | None:
    # Row access by name only for our own reads: sqlite-utils shares the connection and
    # expects plain tuples from it.
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    row: sqlite3.Row | None = cur.execute(sql, params).fetchone()
    cur.close()
    return row


def _code_from_row(row: sqlite3.Row) -> AuthorizationCode:
    return AuthorizationCode(
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        redirect_uri=row["redirect_uri"],
        code_challenge=row["code_challenge"],
        code_challenge_method=row["code_challenge_method"],
        scope=row["scope"],
        resource=row["resource"],
        expires_at=row["expires_at"],
        used=bool(row["used"]),
    )


def _token_from_row(row: sqlite3.Row) -> RefreshToken:
    return RefreshToken(
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        scope=row["scope"],
        expires_at=row["expires_at"],
        used=bool(row["used"]),
    )
