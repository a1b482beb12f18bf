"""Backends under test and the code that runs in child processes.

Lives in its own importable module (not in a test file or conftest) because multiprocessing's
spawn start method re-imports whatever a child runs by module name.

To add a backend (Redis): write a picklable `*Backend` with `name` and `open()`, and list it in
`backend_names()`; every contract test, including the cross-process races, then runs on it.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Protocol

from ib_oauth_bridge.store import (
    AuthorizationCode,
    Grant,
    LoginTransaction,
    RefreshToken,
    SQLiteStore,
    Store,
    secret_hash,
)


class Backend(Protocol):
    name: str

    def open(self) -> Store:
        """A new, independent handle on the same storage (a second process would do this)."""
        ...


@dataclass(frozen=True)
class SQLiteBackend:
    path: str
    name: str = "sqlite"

    def open(self) -> Store:
        return SQLiteStore(self.path)


def backend_names() -> list[str]:
    return ["sqlite"]


# -- records -------------------------------------------------------------------------------

PAST = -60.0  # relative expiries; absolute values are computed per test
FUTURE = 600.0


def at(offset: float) -> float:
    return time.time() + offset


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


def make_grant(expires_in: float = FUTURE, grant_id: str | None = None) -> Grant:
    now = time.time()
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
        session_expires_at=now + expires_in,
        created_at=now,
        last_used_at=now,
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
    )


def make_token(grant_id: str = "g-1", expires_in: float = FUTURE) -> RefreshToken:
    return RefreshToken(
        grant_id=grant_id, client_id="client-1", scope="openid", expires_at=at(expires_in)
    )


# -- child processes -----------------------------------------------------------------------


def race_consume(backend: Backend, kind: str, keys: list[str], barrier: Barrier) -> list[bool]:
    """Open the store, wait until every racer is ready, then consume each key once."""
    store = backend.open()
    try:
        barrier.wait(timeout=60)
        results = []
        for key in keys:
            consumed = (
                store.consume_code(key) if kind == "code" else store.consume_refresh_token(key)
            )
            assert consumed.record is not None, "a racer saw no record at all"
            results.append(consumed.first_use)
        return results
    finally:
        store.close()


def race_worker(
    backend: Backend, kind: str, keys: list[str], barrier: Barrier, out: Queue[list[bool]]
) -> None:
    out.put(race_consume(backend, kind, keys, barrier))


def write_then_die(
    path: str, txn_key: str, txn: LoginTransaction, code_key: str, code: AuthorizationCode
) -> None:
    """Write, and be killed the instant the writes return: no close(), no checkpoint, no atexit."""
    store = SQLiteStore(path)
    store.put_transaction(txn_key, txn)
    store.put_code(code_key, code)
    os.kill(os.getpid(), signal.SIGKILL)
