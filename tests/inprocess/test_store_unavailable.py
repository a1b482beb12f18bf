"""A store that cannot answer (locked past the busy timeout, an I/O error, a full disk) makes
the requests that need it answer 503 with `Retry-After`, never a 500: RFC 6749's
`temporarily_unavailable` at the OAuth endpoints, `store_unavailable` elsewhere, the error page
at /authorize. Nothing is half-done: when the store is back the same tokens work. Sessions the
proxy's cache already holds go on being served meanwhile, and a revocation it missed is seen
when the store is back."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from ib_oauth_bridge.store import SQLiteStore, StoreUnavailable, store_failure
from inprocess_flow import authorize_path, pkce_pair, refresh, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

FAILURES = ["database is locked", "disk I/O error", "database or disk is full"]


@contextlib.contextmanager
def store_failing(stack: Stack, message: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every use of the store's connection raises SQLite's own error `message`."""

    def failing() -> NoReturn:
        raise sqlite3.OperationalError(message)

    with monkeypatch.context() as patch:
        patch.setattr(stack.store, "_db", failing)
        yield


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unavailable(answer: httpx.Response, error: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == error
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("message", FAILURES)
async def test_a_failing_store_answers_503_everywhere_and_nothing_is_lost(
    stack: Stack, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in = await tokens(stack)
    _, challenge = pkce_pair()
    with store_failing(stack, message, monkeypatch):
        assert_unavailable(await refresh(stack, signed_in["refresh_token"]),
                           "temporarily_unavailable")
        assert_unavailable(await stack.http.get("/userinfo", headers=bearer(
            signed_in["access_token"])), "store_unavailable")  # not in the session cache yet
        assert_unavailable(await stack.http.post("/revoke", data={
            "token": signed_in["refresh_token"], "client_id": "mcp-public-client"}),
            "temporarily_unavailable")
        page = await stack.http.get(authorize_path(challenge, "s"))
        assert page.status_code == 503
        assert page.headers["retry-after"] == "5"
        assert "text/html" in page.headers["content-type"]
        ready = await stack.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"] == "failing"
    # Back: the refresh token was not consumed by the failed attempts, the grant lives.
    assert (await stack.http.get("/readyz")).status_code == 200
    rotated = await refresh(stack, signed_in["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    userinfo = await stack.http.get("/userinfo", headers=bearer(rotated.json()["access_token"]))
    assert userinfo.status_code == 200


async def test_a_locked_sqlite_file_is_503_within_the_busy_timeout_then_fine(
    stack: Stack,
) -> None:
    """A real lock: another connection holds the write lock (BEGIN EXCLUSIVE), as another
    process would; the busy timeout, shortened here, bounds the wait."""
    signed_in = await tokens(stack)
    assert isinstance(stack.store, SQLiteStore)
    stack.store._conn().execute("PRAGMA busy_timeout = 100")
    with contextlib.closing(sqlite3.connect(stack.store.path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        assert_unavailable(await refresh(stack, signed_in["refresh_token"]),
                           "temporarily_unavailable")
        other.execute("ROLLBACK")
    rotated = await refresh(stack, signed_in["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert stack.count("grants") == 1


async def test_cached_sessions_are_served_while_the_store_is_down_and_a_missed_revocation_is_seen_after(  # noqa: E501
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = await tokens(stack)
    uncached = await tokens(stack)
    assert (await stack.http.get("/userinfo", headers=bearer(cached["access_token"]))).status_code == 200  # noqa: E501
    # Another instance revokes the cached grant just before the store fails: this process has
    # not read the revocation count since.
    async with SQLiteStore(stack.store.path, clock=stack.clock) as other_instance:
        grant_id = stack.bridge.verifier.verify(cached["access_token"]).grant_id
        assert grant_id is not None
        await other_instance.revoke_grant(grant_id)
    with store_failing(stack, "disk I/O error", monkeypatch):
        stack.clock.advance(1)  # the revocation count is due to be read: it cannot be
        served = await stack.http.get("/userinfo", headers=bearer(cached["access_token"]))
        assert served.status_code == 200, "a cached session is served while the store is down"
        assert_unavailable(await stack.http.get("/userinfo", headers=bearer(
            uncached["access_token"])), "store_unavailable")
    # The store is back: the next request reads the count, sees the revocation, and refuses.
    refused = await stack.http.get("/userinfo", headers=bearer(cached["access_token"]))
    assert refused.status_code == 401
    ok = await stack.http.get("/userinfo", headers=bearer(uncached["access_token"]))
    assert ok.status_code == 200


def test_which_errors_mean_unavailable() -> None:
    import redis

    for message in FAILURES:
        assert store_failure(sqlite3.OperationalError(message)) is not None
    assert store_failure(redis.ConnectionError("Error 111 connecting")) is not None
    assert store_failure(redis.TimeoutError("Timeout reading from socket")) is not None
    assert store_failure(redis.BusyLoadingError("Redis is loading")) is not None
    assert store_failure(redis.ResponseError("MISCONF cannot persist")) is not None
    # Programming errors stay errors (a 500, logged).
    assert store_failure(sqlite3.OperationalError("no such table: grants")) is None
    assert store_failure(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert store_failure(redis.ResponseError("ERR wrong number of arguments")) is None
    assert store_failure(ValueError("bad record")) is None


async def test_after_a_redis_restart_the_pool_drops_its_dead_sockets(tmp_path: Path) -> None:
    """Pooled connections all die with the server. The first command after the restart meets
    one and fails (503: commands are never re-sent); the pool then closes the other idle ones,
    so a burst that follows opens fresh connections instead of failing on each dead socket."""
    from ib_oauth_bridge.store.redis import RedisStore
    from redis_server import start_redis

    server = start_redis(tmp_path / "redis")
    store = RedisStore.open(server.url)
    try:
        await asyncio.gather(*(store.get_grant("g") for _ in range(10)))  # ten pooled sockets
        server.process.kill()
        server.process.wait()
        server = start_redis(tmp_path / "redis", port=server.port)
        with pytest.raises(StoreUnavailable):
            await store.get_grant("g")
        burst = await asyncio.gather(*(store.get_grant("g") for _ in range(10)),
                                     return_exceptions=True)
        assert burst == [None] * 10
    finally:
        await store.close()
        server.stop()
