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

The methods are `async` to fit the `Store` contract, but each does its short local SQLite
calls inline, without a thread hop: they take microseconds, and a thread per call would cost
more than it saves. Nothing awaits inside a write transaction, so coroutines sharing a thread
(and its connection) can never interleave inside one.

Every "now" (expiry in reads, the purge cutoff) comes from the injected `clock`, so tests and
callers agree on time without sleeping.

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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import cast

import sqlite_utils

from .failures import translate_failures
from .records import (
    AuthorizationCode,
    Consumed,
    Grant,
    GrantSummary,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
    RegisteredClient,
    SealedKind,
    SealedValue,
)
from .schema import SCHEMA_VERSION, ensure_schema

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StoreClosedError"]

BUSY_TIMEOUT_MS = 5000

_TABLES = ("transactions", "grants", "codes", "refresh_tokens", "clients", "replay_cache")
_SINGLE_USE = ("codes", "refresh_tokens")

# Every column of a transaction row but its key, in one order for put and finish alike.
_TXN_COLUMNS = (
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "resource",
    "expires_at",
    "status",
    "platform_url",
    "ib_login_token",
    "started_at",
    "last_polled_at",
    "error",
    "redirect_to",
    "nonce",
    "address_hash",
    "submissions",
    "ib_calls",
)


# SQL below is assembled only from the constant names above, never from input (S608).
def _live(table: str) -> str:
    # A code or token is live while unexpired and while its grant has not been revoked (see
    # the module docstring for why revocation is checked here as well as by deletion).
    return (
        f"{table}.key_hash = ? AND {table}.expires_at > ? AND NOT EXISTS ("  # noqa: S608
        f"SELECT 1 FROM grants g WHERE g.grant_id = {table}.grant_id AND g.revoked = 1)"
    )


_SELECT_LIVE = {t: f"SELECT * FROM {t} WHERE {_live(t)}" for t in _SINGLE_USE}  # noqa: S608
_MARK_USED = {t: f"UPDATE {t} SET used = 1 WHERE used = 0 AND {_live(t)}" for t in _SINGLE_USE}  # noqa: S608
# Once per token: only a used token without a successor takes one.
_KEEP_SUCCESSOR = (
    "UPDATE refresh_tokens SET successor = ?, successor_until = ?"  # noqa: S608
    f" WHERE used = 1 AND successor_until IS NULL AND {_live('refresh_tokens')}"
)
# A successor is kept for its window only: purge drops it even while the row lives on.
_PURGE_SUCCESSORS = (
    "UPDATE refresh_tokens SET successor = NULL"
    " WHERE successor IS NOT NULL AND successor_until <= ?"
)
# NULL <= x is not true, so clients without expiry (used at least once) are never purged.
_PURGE = {t: f"DELETE FROM {t} WHERE expires_at <= ?" for t in _TABLES}  # noqa: S608

_SELECT_TXN = "SELECT * FROM transactions WHERE key_hash = ? AND expires_at > ?"
# The claim is the WHERE clause: of N workers running this at once, SQLite's write lock lets
# one match and move last_polled_at; the others then fail the interval test.
_CLAIM_POLL = (
    "UPDATE transactions SET last_polled_at = ?, ib_calls = ib_calls + 1"
    " WHERE key_hash = ? AND status = ? AND expires_at > ? AND ? - last_polled_at >= ?"
    " AND ib_calls < ?"
)
_CLAIM_SUBMISSION = (
    "UPDATE transactions SET submissions = submissions + 1, ib_calls = ib_calls + 1"
    " WHERE key_hash = ? AND expires_at > ? AND submissions < ? AND ib_calls < ?"
)
_COUNT_LIVE_TXN = (
    "SELECT count(*) FROM transactions"
    " WHERE address_hash = ? AND expires_at > ? AND status IN (?, ?)"
)
# Finishing never writes who opened the transaction or its counts: only claims move those.
_COUNTED_COLUMNS = ("address_hash", "submissions", "ib_calls")
_FINISH_COLUMNS = _TXN_COLUMNS[: -len(_COUNTED_COLUMNS)]
assert _TXN_COLUMNS[len(_FINISH_COLUMNS) :] == _COUNTED_COLUMNS
_FINISH_TXN = (
    "UPDATE transactions SET "  # noqa: S608
    + ", ".join(f"{c} = ?" for c in _FINISH_COLUMNS)
    + " WHERE key_hash = ? AND status = ? AND expires_at > ?"
)

_CLIENT_LIVE = "client_id = ? AND (expires_at IS NULL OR expires_at > ?)"
_SELECT_CLIENT = f"SELECT * FROM clients WHERE {_CLIENT_LIVE}"  # noqa: S608
_LIST_CLIENTS = (
    "SELECT * FROM clients WHERE expires_at IS NULL OR expires_at > ?"
    " ORDER BY client_id_issued_at, client_id"
)
# Only a live registration can be kept: one that already expired unused stays expired.
_MARK_CLIENT_USED = f"UPDATE clients SET expires_at = NULL WHERE {_CLIENT_LIVE}"  # noqa: S608
_DELETE_CLIENT = f"DELETE FROM clients WHERE {_CLIENT_LIVE}"  # noqa: S608

# Insert, or take over a row whose time has passed; a live row makes the upsert's WHERE
# false, so nothing changes and the statement reports 0 rows. One statement: atomic.
_REMEMBER = (
    "INSERT INTO replay_cache (key_hash, expires_at) VALUES (?, ?)"
    " ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE replay_cache.expires_at <= ?"
)


# The sealed columns: table, row key, column, and what makes a row live (its expiry is `?`).
_SEALED: dict[SealedKind, tuple[str, str, str, str]] = {
    SealedKind.GRANT_SID: (
        "grants",
        "grant_id",
        "sid_ciphertext",
        "revoked = 0 AND expires_at > ?",
    ),
    SealedKind.REFRESH_SUCCESSOR: (
        "refresh_tokens",
        "key_hash",
        "successor",
        "successor IS NOT NULL AND successor_until > ?",
    ),
    SealedKind.LOGIN_TOKEN: (
        "transactions",
        "key_hash",
        "ib_login_token",
        "ib_login_token IS NOT NULL AND expires_at > ?",
    ),
    SealedKind.LOGIN_REDIRECT: (
        "transactions",
        "key_hash",
        "redirect_to",
        "redirect_to IS NOT NULL AND expires_at > ?",
    ),
}
_SELECT_SEALED = {
    kind: f"SELECT {key}, {column} FROM {table}"  # noqa: S608
    f" WHERE {live} AND {key} > ? ORDER BY {key} LIMIT ?"
    for kind, (table, key, column, live) in _SEALED.items()
}
_REPLACE_SEALED = {
    kind: f"UPDATE {table} SET {column} = ? WHERE {key} = ? AND {column} = ?"  # noqa: S608
    for kind, (table, key, column, _) in _SEALED.items()
}

# Live grants in id order, for listing: never the sid column. No index beyond the primary key:
# the list pages in grant id order, and the filters (client, user) are checked on the way; the
# table holds one row per live sign-in, so this is an operator's query, never a request's.
_LIST_GRANTS = (
    "SELECT grant_id, client_id, scope, platform_url, user, expires_at, created_at,"
    " last_used_at, refresh_count FROM grants"
    " WHERE revoked = 0 AND expires_at > ? AND grant_id > ? AND (? IS NULL OR client_id = ?)"
    " ORDER BY grant_id"
)

_NO_CAP = 2**62  # claim_poll without max_ib_calls: an SQLite integer no count reaches


class StoreClosedError(RuntimeError):
    """The store was used after `close()`."""


class _Local(threading.local):
    db: sqlite_utils.Database | None = None
    pid: int = 0


@translate_failures
class SQLiteStore:
    """`Store` on a SQLite file in WAL mode. Safe for many threads and processes on one host.

    A file locked past the busy timeout, an I/O error or a full disk surfaces as
    `StoreUnavailable` (store.failures); a write transaction cut short by one is rolled back
    whole, so nothing half-written stays."""

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = _Local()
        self._lock = threading.Lock()
        # Every connection this store opened, with the pid that opened it, so close() can
        # reach connections owned by other threads (and skip ones inherited across fork).
        self._opened: list[tuple[int, sqlite_utils.Database]] = []
        self._closed = False
        self._create_file()
        db = self._db()
        with self._write_txn():
            ensure_schema(db, self.path)

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
        # with a busy timeout, hence the retry. (monotonic, not the store's clock: this is a
        # real wait, not a record's expiry.)
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
            # SQLite may have rolled back already (a full disk, an I/O error): then ROLLBACK
            # itself fails, and must not hide the error that ended the transaction.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        pid = os.getpid()
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for owner, db in opened:
            if owner == pid:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
        self._local.db = None

    async def __aenter__(self) -> SQLiteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- login transactions ----------------------------------------------------------------

    async def put_transaction(self, key: str, transaction: LoginTransaction) -> None:
        row = dict(zip(_TXN_COLUMNS, _transaction_values(transaction), strict=True))
        self._db().table("transactions").insert({"key_hash": key, **row}, replace=True)

    async def get_transaction(self, key: str) -> LoginTransaction | None:
        row = _one(self._conn(), _SELECT_TXN, (key, self._clock()))
        return None if row is None else _transaction_from_row(row)

    async def delete_transaction(self, key: str) -> None:
        self._conn().execute("DELETE FROM transactions WHERE key_hash = ?", (key,))

    async def count_live_transactions(self, address_hash: str) -> int:
        params = (
            address_hash,
            self._clock(),
            LoginStatus.NEW.value,
            LoginStatus.PENDING.value,
        )
        return int(self._conn().execute(_COUNT_LIVE_TXN, params).fetchone()[0])

    async def claim_poll(
        self, key: str, *, now: float, min_interval: float, max_ib_calls: int | None = None
    ) -> LoginTransaction | None:
        # `now` (the caller's) times the polls; the store's clock decides expiry, as for
        # every other read.
        cap = _NO_CAP if max_ib_calls is None else max_ib_calls
        params = (now, key, LoginStatus.PENDING.value, self._clock(), now, min_interval, cap)
        return self._claim(key, _CLAIM_POLL, params)

    async def claim_submission(
        self, key: str, *, max_submissions: int, max_ib_calls: int
    ) -> LoginTransaction | None:
        params = (key, self._clock(), max_submissions, max_ib_calls)
        return self._claim(key, _CLAIM_SUBMISSION, params)

    def _claim(self, key: str, sql: str, params: Sequence[object]) -> LoginTransaction | None:
        with self._write_txn() as conn:
            # The write lock is held from the claim to the read-back, so the row returned is
            # the one this claim produced, not a later worker's.
            if conn.execute(sql, params).rowcount != 1:
                return None
            row = _one(conn, "SELECT * FROM transactions WHERE key_hash = ?", (key,))
        return None if row is None else _transaction_from_row(row)

    async def finish_transaction(self, key: str, transaction: LoginTransaction) -> bool:
        # One statement, no read-back: the caller already holds the record it wrote.
        params = (
            *_transaction_values(transaction)[: len(_FINISH_COLUMNS)],
            key,
            LoginStatus.PENDING.value,
            self._clock(),
        )
        return bool(self._conn().execute(_FINISH_TXN, params).rowcount == 1)

    # -- grants ----------------------------------------------------------------------------

    async def put_grant(self, grant: Grant) -> None:
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

    async def get_grant(self, grant_id: str) -> Grant | None:
        row = _one(
            self._conn(),
            "SELECT * FROM grants WHERE grant_id = ? AND revoked = 0 AND expires_at > ?",
            (grant_id, self._clock()),
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

    async def list_grants(
        self,
        *,
        user: str | None = None,
        client_id: str | None = None,
        after: str = "",
        limit: int = 100,
    ) -> list[GrantSummary]:
        found: list[GrantSummary] = []
        if limit <= 0:
            return found
        cur = self._conn().cursor()
        cur.row_factory = sqlite3.Row
        try:
            cur.execute(_LIST_GRANTS, (self._clock(), after, client_id, client_id))
            for row in cur:
                summary = _summary_from_row(row)
                if user is None or summary.is_user(user):
                    found.append(summary)
                    if len(found) == limit:
                        break
        finally:
            cur.close()
        return found

    async def touch_grant(self, grant_id: str, *, last_used_at: float, refreshed: bool) -> None:
        # max(): workers touch concurrently and their clocks/requests interleave; the
        # recorded last use must never move backwards.
        self._conn().execute(
            "UPDATE grants SET last_used_at = max(last_used_at, ?),"
            " refresh_count = refresh_count + ? WHERE grant_id = ? AND revoked = 0",
            (last_used_at, 1 if refreshed else 0, grant_id),
        )

    async def revoke_grant(self, grant_id: str) -> None:
        with self._write_txn() as conn:
            conn.execute("UPDATE grants SET revoked = 1 WHERE grant_id = ?", (grant_id,))
            conn.execute("DELETE FROM codes WHERE grant_id = ?", (grant_id,))
            conn.execute("DELETE FROM refresh_tokens WHERE grant_id = ?", (grant_id,))
            conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'revocations'")

    async def count_live_grants(self) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT count(*) FROM grants WHERE revoked = 0 AND expires_at > ?",
                (self._clock(),),
            )
            .fetchone()
        )
        return int(row[0])

    async def revocation_count(self) -> int:
        row = (
            self._conn().execute("SELECT value FROM counters WHERE name = 'revocations'").fetchone()
        )
        return int(row[0])

    # -- authorization codes ---------------------------------------------------------------

    async def put_code(self, key: str, code: AuthorizationCode) -> None:
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
                "nonce": c.nonce,
            },
            replace=True,
        )

    async def consume_code(self, key: str) -> Consumed[AuthorizationCode]:
        row, first_use = self._consume("codes", key)
        if row is None:
            return Consumed(None)
        return Consumed(_code_from_row(row), first_use=first_use)

    # -- refresh tokens --------------------------------------------------------------------

    async def put_refresh_token(self, key: str, token: RefreshToken) -> None:
        # Hand-written: one per refresh and code exchange, and sqlite-utils' insert looks the
        # table's columns up each time.
        self._conn().execute(
            "INSERT OR REPLACE INTO refresh_tokens (key_hash, grant_id, client_id, scope,"
            " expires_at, used, successor, successor_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                token.grant_id,
                token.client_id,
                token.scope,
                token.expires_at,
                int(token.used),
                token.successor,
                token.successor_until,
            ),
        )

    async def consume_refresh_token(self, key: str) -> Consumed[RefreshToken]:
        now = self._clock()
        row, first_use = self._consume("refresh_tokens", key, now)
        if row is None:
            return Consumed(None)
        return Consumed(_token_from_row(row, now), first_use=first_use)

    async def keep_successor(self, key: str, successor: str, until: float) -> bool:
        params = (successor, until, key, self._clock())
        return bool(self._conn().execute(_KEEP_SUCCESSOR, params).rowcount == 1)

    async def get_refresh_token(self, key: str) -> RefreshToken | None:
        now = self._clock()
        row = _one(self._conn(), _SELECT_LIVE["refresh_tokens"], (key, now))
        return None if row is None else _token_from_row(row, now)

    # -- single use ------------------------------------------------------------------------

    def _consume(
        self, table: str, key: str, now: float | None = None
    ) -> tuple[sqlite3.Row | None, bool]:
        now = self._clock() if now is None else now
        with self._write_txn() as conn:
            # The check-and-set is one statement under the write lock: of N concurrent
            # consumers in any number of processes, exactly one sees rowcount 1.
            first_use = conn.execute(_MARK_USED[table], (key, now)).rowcount == 1
            row = _one(conn, _SELECT_LIVE[table], (key, now))
        return row, first_use

    # -- registered clients ----------------------------------------------------------------

    async def put_client(self, client: RegisteredClient) -> None:
        c = client
        self._db().table("clients").insert(
            {
                "client_id": c.client_id,
                "client_secret_hash": c.client_secret_hash,
                "token_endpoint_auth_method": c.token_endpoint_auth_method,
                "redirect_uris": _json(list(c.redirect_uris)),
                "grant_types": _json(list(c.grant_types)),
                "response_types": _json(list(c.response_types)),
                "scope": c.scope,
                "client_name": c.client_name,
                "client_uri": c.client_uri,
                "logo_uri": c.logo_uri,
                "client_id_issued_at": c.client_id_issued_at,
                "expires_at": c.expires_at,
                "metadata": _json(c.metadata),
            },
            replace=True,
        )

    async def get_client(self, client_id: str) -> RegisteredClient | None:
        row = _one(self._conn(), _SELECT_CLIENT, (client_id, self._clock()))
        return None if row is None else _client_from_row(row)

    async def mark_client_used(self, client_id: str) -> None:
        self._conn().execute(_MARK_CLIENT_USED, (client_id, self._clock()))

    async def delete_client(self, client_id: str) -> bool:
        # Only a live registration counts as deleted; an expired one was already gone to
        # every reader (and purge removes its row).
        return bool(self._conn().execute(_DELETE_CLIENT, (client_id, self._clock())).rowcount)

    async def list_clients(self) -> list[RegisteredClient]:
        cur = self._conn().cursor()
        cur.row_factory = sqlite3.Row
        try:
            rows = cur.execute(_LIST_CLIENTS, (self._clock(),)).fetchall()
        finally:
            cur.close()
        return [_client_from_row(row) for row in rows]

    # -- replay cache ----------------------------------------------------------------------

    async def remember(self, key: str, expires_at: float) -> bool:
        cur = self._conn().execute(_REMEMBER, (key, expires_at, self._clock()))
        return bool(cur.rowcount == 1)

    # -- housekeeping ----------------------------------------------------------------------

    async def purge_expired(self) -> int:
        cutoff = self._clock()
        removed = 0
        with self._write_txn() as conn:
            for table in _TABLES:
                removed += conn.execute(_PURGE[table], (cutoff,)).rowcount
            conn.execute(_PURGE_SUCCESSORS, (cutoff,))
        return removed

    # -- sealed values -----------------------------------------------------------------------

    async def sealed_values(
        self, kind: SealedKind, *, after: str = "", limit: int = 500
    ) -> list[SealedValue]:
        rows = self._conn().execute(_SELECT_SEALED[kind], (self._clock(), after, limit))
        return [
            SealedValue(kind, row[0], bytes(row[1]) if isinstance(row[1], bytes) else row[1])
            for row in rows.fetchall()
        ]

    async def replace_sealed(self, value: SealedValue, resealed: bytes | str) -> bool:
        params = (resealed, value.row_key, value.sealed)
        return bool(self._conn().execute(_REPLACE_SEALED[value.kind], params).rowcount == 1)

    # -- backup and restore ------------------------------------------------------------------

    def backup_into(self, target: sqlite3.Connection) -> None:
        """Copy the whole store into `target` with SQLite's online backup API, in one step:
        the copy is one read snapshot of the file (WAL lets the writers in every other process
        go on meanwhile), so it is consistent however busy the store is."""
        self._conn().backup(target)

    def record_count(self) -> int:
        """How many rows the store's tables hold, expired or not (0: a fresh store)."""
        conn = self._conn()
        return sum(
            int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # noqa: S608
            for t in _TABLES
        )

    def restore_from(self, source: sqlite3.Connection) -> None:
        """Replace the whole store with `source` (a backup's connection): the backup API writes
        every page in one transaction, so other connections see the old store or the new one,
        never a mix. A backup of an older schema is then migrated, as at start-up."""
        source.backup(self._conn())
        with self._write_txn():
            ensure_schema(self._db(), self.path)

    async def ping(self) -> bool:
        try:
            return bool(self._conn().execute("SELECT 1").fetchone()[0] == 1)
        except (sqlite3.Error, StoreClosedError):
            return False


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> sqlite3.Row | None:
    # Row access by name only for our own reads: sqlite-utils shares the connection and
    # expects plain tuples from it.
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    try:
        row: sqlite3.Row | None = cur.execute(sql, params).fetchone()
    finally:
        cur.close()
    return row


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _transaction_values(t: LoginTransaction) -> tuple[object, ...]:
    """The row of a transaction, in `_TXN_COLUMNS` order."""
    return (
        t.client_id,
        t.redirect_uri,
        t.state,
        t.code_challenge,
        t.code_challenge_method,
        t.scope,
        t.resource,
        t.expires_at,
        LoginStatus(t.status).value,
        t.platform_url,
        t.ib_login_token,
        t.started_at,
        t.last_polled_at,
        t.error,
        t.redirect_to,
        t.nonce,
        t.address_hash,
        t.submissions,
        t.ib_calls,
    )


def _transaction_from_row(row: sqlite3.Row) -> LoginTransaction:
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
        nonce=row["nonce"],
        address_hash=row["address_hash"],
        submissions=row["submissions"],
        ib_calls=row["ib_calls"],
    )


def _summary_from_row(row: sqlite3.Row) -> GrantSummary:
    user = cast(dict[str, object], json.loads(row["user"]))

    def claim(name: str) -> str | None:
        value = user.get(name)
        return str(value) if value else None

    return GrantSummary(
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        user_id=claim("sub"),
        user_email=claim("email"),
        user_name=claim("name"),
        scope=row["scope"],
        platform_url=row["platform_url"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        refresh_count=row["refresh_count"],
        session_expires_at=row["expires_at"],
    )


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
        nonce=row["nonce"],
    )


def _token_from_row(row: sqlite3.Row, now: float) -> RefreshToken:
    until = row["successor_until"]
    return RefreshToken(
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        scope=row["scope"],
        expires_at=row["expires_at"],
        used=bool(row["used"]),
        # Past its window the successor is gone to readers, purged or not.
        successor=row["successor"] if until is not None and until > now else None,
        successor_until=until,
    )


def _client_from_row(row: sqlite3.Row) -> RegisteredClient:
    def strings(column: str) -> tuple[str, ...]:
        return tuple(cast(list[str], json.loads(row[column])))

    return RegisteredClient(
        client_id=row["client_id"],
        client_secret_hash=row["client_secret_hash"],
        token_endpoint_auth_method=row["token_endpoint_auth_method"],
        redirect_uris=strings("redirect_uris"),
        grant_types=strings("grant_types"),
        response_types=strings("response_types"),
        scope=row["scope"],
        client_name=row["client_name"],
        client_uri=row["client_uri"],
        logo_uri=row["logo_uri"],
        client_id_issued_at=row["client_id_issued_at"],
        expires_at=row["expires_at"],
        metadata=cast(dict[str, object], json.loads(row["metadata"])),
    )
