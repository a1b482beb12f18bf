"""TokenHolder: refresh before expiry, rotation into the store, one refresh for many concurrent
callers (threads and asyncio tasks), and the end of a revoked grant."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest
from ib_oauth_bridge_client.helpers import (
    BridgeError,
    FileTokenStore,
    MemoryTokenStore,
    SignInRequired,
    TokenHolder,
    Tokens,
)

from flow import refresh as raw_refresh
from servers import Bridge


def expiring(holder: TokenHolder, store: object = None, **options: object) -> TokenHolder:
    """The same grant in a new holder whose access token expires in 5 s (inside the margin)."""
    tokens = dataclasses.replace(holder.tokens, expires_at=time.time() + 5)
    return TokenHolder(holder.metadata, holder.client_id, tokens, store, **options)  # type: ignore[arg-type]


class Counter:
    """Counts requests to the token endpoint through an httpx event hook."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path == "/token":
            with self.lock:
                self.count += 1

    async def async_hook(self, request: httpx.Request) -> None:
        self(request)


def test_access_token_is_reused_until_the_margin(holder: TokenHolder) -> None:
    first = holder.access_token()
    assert holder.access_token() == first  # an hour left: no refresh


def test_refreshes_shortly_before_expiry(holder: TokenHolder) -> None:
    soon = expiring(holder)
    old = soon.tokens
    fresh = soon.access_token()
    assert fresh != old.access_token
    assert soon.tokens.refresh_token not in (None, old.refresh_token)  # rotated
    assert soon.tokens.expires_at > time.time() + 60
    assert soon.access_token() == fresh


def test_rotation_is_persisted_to_a_private_file(holder: TokenHolder, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "dir" / "tokens.json")
    soon = expiring(holder, store)
    assert store.load() == soon.tokens  # the holder's tokens are saved at once
    rotated = soon.refresh()
    assert store.load() == rotated
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    on_disk = json.loads(store.path.read_text())
    assert on_disk["refresh_token"] == rotated.refresh_token
    # Only the file and its lock remain: no temporary files left behind.
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["tokens.json",
                                                                  "tokens.json.lock"]
    # A new process (a new holder from the file) carries on with the rotated grant.
    again = TokenHolder.from_store(holder.metadata, holder.client_id, store)
    assert again is not None
    assert again.tokens == rotated
    assert again.refresh().refresh_token != rotated.refresh_token


def test_two_threads_refresh_once(holder: TokenHolder) -> None:
    counter = Counter()
    with httpx.Client(event_hooks={"request": [counter]}) as http:
        soon = expiring(holder, http=http)
        barrier = threading.Barrier(8)
        seen: list[str] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                barrier.wait()
                seen.append(soon.access_token())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors
        assert counter.count == 1
        assert len(set(seen)) == 1
        assert len(seen) == 8
        # The grant survived (a double use of the refresh token would have revoked it).
        soon.refresh()
        assert counter.count == 2


def test_two_asyncio_tasks_refresh_once(holder: TokenHolder) -> None:
    counter = Counter()

    async def main() -> tuple[list[str], str]:
        async with httpx.AsyncClient(event_hooks={"request": [counter.async_hook]}) as http:
            soon = expiring(holder, async_http=http)
            seen = await asyncio.gather(*(soon.aaccess_token() for _ in range(8)))
            again = await soon.arefresh()
            return list(seen), again.access_token

    seen, again = asyncio.run(main())
    assert counter.count == 2  # one for the eight tasks, one for the explicit refresh
    assert len(set(seen)) == 1
    assert again != seen[0]


def test_threads_and_a_loop_share_one_refresh(holder: TokenHolder) -> None:
    counter = Counter()
    with httpx.Client(event_hooks={"request": [counter]}) as http:
        soon = expiring(holder, http=http)
        barrier = threading.Barrier(2)
        seen: list[str] = []

        def in_thread() -> None:
            barrier.wait()
            seen.append(soon.access_token())

        async def in_loop() -> str:
            async with httpx.AsyncClient(event_hooks={"request": [counter.async_hook]}) as ahttp:
                soon._async_http = ahttp
                await asyncio.to_thread(barrier.wait)
                return await soon.aaccess_token()

        thread = threading.Thread(target=in_thread)
        thread.start()
        seen.append(asyncio.run(in_loop()))
        thread.join(30)
        assert counter.count == 1
        assert len(set(seen)) == 1


def test_holders_sharing_a_file_adopt_each_others_rotation(holder: TokenHolder,
                                                          tmp_path: Path) -> None:
    # Two processes with one token file: the second must not replay the refresh token the
    # first has already used (that would revoke the grant), but adopt the saved rotation.
    store = FileTokenStore(tmp_path / "tokens.json")
    first = expiring(holder, store)
    second = TokenHolder(holder.metadata, holder.client_id, first.tokens, store)
    first.access_token()
    assert second.access_token() == first.tokens.access_token
    assert second.refresh().refresh_token  # the grant is alive


def test_a_revoked_grant_requires_a_new_sign_in(bridge: Bridge, holder: TokenHolder,
                                                tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    holder = TokenHolder(holder.metadata, holder.client_id, holder.tokens, store)
    used = holder.tokens.refresh_token
    assert used is not None
    holder.refresh()
    holder.refresh()  # the token that replaced `used` is spent too: no retry is left
    # Someone replays the used refresh token: the bridge revokes the whole grant.
    assert raw_refresh(bridge.url, used).json()["error"] == "invalid_grant"
    with pytest.raises(SignInRequired, match="login"):
        holder.refresh()
    assert store.load() is None


def test_async_refresh_of_a_revoked_grant(bridge: Bridge, holder: TokenHolder) -> None:
    used = holder.tokens.refresh_token
    assert used is not None
    holder.refresh()
    holder.refresh()  # past the grace retry: `used`'s successor is spent
    raw_refresh(bridge.url, used)
    with pytest.raises(SignInRequired):
        asyncio.run(holder.arefresh())
    assert holder.store is not None
    assert holder.store.load() is None


def test_logout_revokes_the_grant(bridge: Bridge, holder: TokenHolder) -> None:
    refresh_token = holder.tokens.refresh_token
    assert refresh_token is not None
    holder.logout()
    assert holder.store is not None
    assert holder.store.load() is None
    with pytest.raises(SignInRequired):
        holder.access_token()
    assert raw_refresh(bridge.url, refresh_token).json()["error"] == "invalid_grant"


def test_file_store_saves_never_interleave(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    all_tokens = [Tokens(f"access-{i}" * 50, f"refresh-{i}" * 50, 1000.0 + i) for i in range(20)]
    threads = [threading.Thread(target=store.save, args=(t,)) for t in all_tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load() in all_tokens
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    store.clear()
    assert store.load() is None
    store.clear()  # clearing twice is fine


def test_a_corrupt_token_file_is_a_bridge_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    with pytest.raises(BridgeError):
        FileTokenStore(path).load()
    path.write_text('{"access_token": 1}')
    with pytest.raises(BridgeError):
        FileTokenStore(path).load()


def test_memory_store_and_no_refresh_token(holder: TokenHolder) -> None:
    store = MemoryTokenStore()
    tokens = dataclasses.replace(holder.tokens, refresh_token=None, expires_at=0.0)
    bare = TokenHolder(holder.metadata, holder.client_id, tokens, store)
    assert store.load() == tokens
    with pytest.raises(SignInRequired):
        bare.access_token()
