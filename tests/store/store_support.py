"""Backends under test, a fake clock, record makers, and the code that runs in child processes.

Lives in its own importable module (not in a test file or conftest) because multiprocessing's
spawn start method re-imports whatever a child runs by module name.

A backend is a picklable `*Backend` with `name`, `purges` and `open(clock)`, listed in
`backend_names()`; every contract test, including the cross-process races, runs on each:
SQLite on a file, Redis on the session's redis-server under a key prefix of the test's own.

Time: every store under test runs on a `FakeClock` that starts at T0, and every record's expiry
is T0 plus an offset, so no test reads the wall clock or sleeps. T0 lies years in the past, so
a backend that consulted the real clock instead of its own would see every record as expired
and fail the tests at once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Literal, Protocol

from ib_oauth_bridge.store import (
    AuthorizationCode,
    Grant,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
    RegisteredClient,
    SQLiteStore,
    Store,
    secret_hash,
)
from ib_oauth_bridge.store.redis import RedisStore, redis_target

T0 = 1_700_000_000.0  # 2023-11-14: the fake "now" every test starts at
PAST = -60.0  # relative expiries, added to T0
FUTURE = 600.0


@dataclass
class FakeClock:
    """A clock that moves only when told to. Picklable, so a child process can get one."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Backend(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def purges(self) -> bool:
        """Whether `purge_expired` deletes (SQLite) or has nothing to do because the backend
        expires records by itself (Redis TTLs: it returns 0)."""
        ...

    def open(self, clock: Callable[[], float]) -> Store:
        """A new, independent handle on the same storage (a second process would do this)."""
        ...


@dataclass(frozen=True)
class SQLiteBackend:
    path: str
    name: str = "sqlite"
    purges: bool = True

    def open(self, clock: Callable[[], float]) -> Store:
        return SQLiteStore(self.path, clock=clock)


@dataclass(frozen=True)
class RedisBackend:
    url: str  # with a ?prefix= of the test's own
    name: str = "redis"
    purges: bool = False

    def open(self, clock: Callable[[], float]) -> Store:
        return RedisStore(redis_target(self.url), clock=clock)


def backend_names() -> list[str]:
    return ["sqlite", "redis"]


def purged(backend: Backend, count: int) -> int:
    """What `purge_expired` answers on `backend` when `count` records have expired."""
    return count if backend.purges else 0


# -- records -------------------------------------------------------------------------------


def at(offset: float) -> float:
    return T0 + offset


def key() -> str:
    return secret_hash(secrets.token_urlsafe(32))


def make_transaction(expires_in: float = FUTURE, **changes: object) -> LoginTransaction:
    txn = LoginTransaction(
        client_id="client-1",
        redirect_uri="http://127.0.0.1:33418/callback",
        state="st-\u00e9",
        code_challenge="E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        scope="openid profile",
        resource="https://bridge.example/mcp",
        expires_at=at(expires_in),
    )
    for name, value in changes.items():
        setattr(txn, name, value)
    return txn


def make_pending(expires_in: float = FUTURE, **changes: object) -> LoginTransaction:
    """A transaction waiting on IB, as `claim_poll` and `finish_transaction` expect it."""
    fields: dict[str, object] = {
        "status": LoginStatus.PENDING,
        "platform_url": "https://acme.intelligencebank.com",
        "ib_login_token": "sealed-ib-token",
        "started_at": at(0),
        "last_polled_at": 0.0,
        "nonce": "n-0S6_WzA2Mj",
    }
    fields.update(changes)
    return make_transaction(expires_in, **fields)


def make_done(racer: int = 0) -> LoginTransaction:
    """What a worker writes when it sees the login complete; `racer` tells writers apart."""
    return make_pending(
        status=LoginStatus.DONE,
        ib_login_token=None,
        redirect_to=f"http://127.0.0.1:33418/callback?code=c{racer}&state=s",
    )


def make_grant(expires_in: float = FUTURE, grant_id: str | None = None) -> Grant:
    return Grant(
        grant_id=grant_id or secrets.token_urlsafe(16),
        client_id="client-1",
        scope="openid profile",
        resource=None,
        sid_ciphertext=b"\x01\x00\xffnot-really-encrypted\x00",
        platform_url="https://acme.intelligencebank.com",
        api_v3_url="https://apius.intelligencebank.com",
        ib_client_id="abc123",
        user={"sub": "u-1", "name": "Zo\u00eb Ng", "email": "zoe@example.com"},
        session_expires_at=at(expires_in),
        created_at=T0,
        last_used_at=T0,
    )


def make_code(grant_id: str = "g-1", expires_in: float = FUTURE) -> AuthorizationCode:
    return AuthorizationCode(
        grant_id=grant_id,
        client_id="client-1",
        redirect_uri="http://127.0.0.1:33418/callback",
        code_challenge="E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        scope="openid",
        resource="https://bridge.example/mcp",
        expires_at=at(expires_in),
        nonce="n-0S6_WzA2Mj",
    )


def make_token(grant_id: str = "g-1", expires_in: float = FUTURE) -> RefreshToken:
    return RefreshToken(
        grant_id=grant_id, client_id="client-1", scope="openid", expires_at=at(expires_in)
    )


def make_client(
    client_id: str | None = None, expires_in: float | None = FUTURE, **changes: object
) -> RegisteredClient:
    client = RegisteredClient(
        client_id=client_id or "dyn-" + secrets.token_urlsafe(12),
        client_secret_hash=secret_hash("s3cret"),
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=("https://app.example/cb", "http://127.0.0.1/cb"),
        grant_types=("authorization_code", "refresh_token"),
        response_types=("code",),
        scope="openid profile",
        client_name="Zo\u00eb's agent",
        client_uri="https://app.example",
        logo_uri=None,
        client_id_issued_at=int(T0),
        expires_at=None if expires_in is None else at(expires_in),
        metadata={"software_id": "agent", "contacts": ["ops@app.example"], "x": {"n": 1}},
    )
    for name, value in changes.items():
        setattr(client, name, value)
    return client


# -- child processes -----------------------------------------------------------------------

RaceOp = Literal["code", "refresh_token", "claim_poll", "finish", "remember"]


async def _attempt(store: Store, op: RaceOp, k: str, racer: int) -> bool:
    """One racer's try at the single-winner operation `op` on key `k`: did it win?"""
    if op == "code":
        code = await store.consume_code(k)
        assert code.record is not None, "a racer saw no code at all"
        return code.first_use
    if op == "refresh_token":
        token = await store.consume_refresh_token(k)
        assert token.record is not None, "a racer saw no token at all"
        return token.first_use
    if op == "claim_poll":
        return await store.claim_poll(k, now=T0, min_interval=1.0) is not None
    if op == "finish":
        return await store.finish_transaction(k, make_done(racer))
    return await store.remember(k, at(FUTURE))


async def _race(
    backend: Backend, op: RaceOp, keys: list[str], barrier: Barrier, racer: int
) -> list[bool]:
    store = backend.open(FakeClock())
    try:
        # Blocking on purpose: nothing else runs in this child's loop, and every racer must
        # hold an open store before any starts.
        barrier.wait(timeout=60)
        return [await _attempt(store, op, k, racer) for k in keys]
    finally:
        await store.close()


def race_worker(
    backend: Backend,
    op: RaceOp,
    keys: list[str],
    barrier: Barrier,
    racer: int,
    out: Queue[tuple[int, list[bool]]],
) -> None:
    """Open the store, wait until every racer is ready, then try `op` once on each key."""
    out.put((racer, asyncio.run(_race(backend, op, keys, barrier, racer))))


def write_then_die(
    path: str, txn_key: str, txn: LoginTransaction, code_key: str, code: AuthorizationCode
) -> None:
    """Write, and be killed the instant the writes return: no close(), no checkpoint, no atexit."""

    async def write() -> None:
        store = SQLiteStore(path, clock=FakeClock())
        await store.put_transaction(txn_key, txn)
        await store.put_code(code_key, code)

    asyncio.run(write())
    os.kill(os.getpid(), signal.SIGKILL)
