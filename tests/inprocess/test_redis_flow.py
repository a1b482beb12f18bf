"""The whole bridge on the Redis store, in-process: sign-in, code exchange, refresh, the proxy
and revocation, with every record in Redis (and no SQLite file anywhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from docserver import DocumentServer, Route
from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.store.redis import RedisStore
from inprocess_flow import CLIENT_ID, authorize, exchange, refresh
from inprocess_stack import Stack, open_stack
from redis_server import RedisServer

pytestmark = pytest.mark.anyio

PATH = "/api/3.0.0/BnK4JV/resource.limit(1)"


@pytest.fixture
def ib_api() -> Iterator[DocumentServer]:
    """IB's v3 API host: the emulator signs users in in-process and names this as its API."""
    with DocumentServer(host="localhost") as server:
        server.routes[PATH] = Route(b'{"response": []}')
        yield server


@pytest.fixture
async def on_redis(
    tmp_path: Path, redis_server: RedisServer, ib_api: DocumentServer
) -> AsyncIterator[Stack]:
    url = redis_server.url_for_test()
    async with open_stack(tmp_path, EmulatorConfig(port=ib_api.port), store_url=url) as stack:
        yield stack


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_sign_in_token_refresh_proxy_revoke_on_redis(
    on_redis: Stack, redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = on_redis
    assert isinstance(stack.store, RedisStore)

    authorized = await authorize(stack, scope="ib.read offline_access")
    answer = await exchange(stack, authorized)
    assert answer.status_code == 200, answer.text
    first = answer.json()
    replay = await exchange(stack, authorized)  # the code is single-use
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"

    # The replay revoked what the code issued; sign in again for the rest.
    replayed = await stack.http.get(f"/proxy{PATH}", headers=bearer(first["access_token"]))
    assert replayed.status_code == 401, replayed.text
    answer = await exchange(stack, await authorize(stack, scope="ib.read offline_access"))
    assert answer.status_code == 200, answer.text
    token = answer.json()

    refreshed = await refresh(stack, token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()

    proxied = await stack.http.get(f"/proxy{PATH}", headers=bearer(token["access_token"]))
    assert proxied.status_code == 200, proxied.text
    assert proxied.json() == {"response": []}

    revoked = await stack.http.post(
        "/revoke", data={"token": token["refresh_token"], "client_id": CLIENT_ID}
    )
    assert revoked.status_code == 200, revoked.text
    after = await stack.http.get(f"/proxy{PATH}", headers=bearer(token["access_token"]))
    assert after.status_code == 401, after.text
    assert (await refresh(stack, token["refresh_token"])).json()["error"] == "invalid_grant"

    # Everything lived in Redis, under the store's namespace; no SQLite file was made.
    client = redis_server.client()
    try:
        kinds = {
            k.removeprefix(stack.store.target.namespace).split(":")[0]
            for k in client.scan_iter(f"{stack.store.target.namespace}*")
        }
    finally:
        client.close()
    # Transactions, grants (the revoked ones kept, marked), the revocation counter, the rate
    # limits; revocation deleted the grants' codes and refresh tokens.
    assert {"t", "g", "n", "rl"} <= kinds
    assert not {"c", "r"} & kinds
    assert not [p.name for p in tmp_path.iterdir() if p.suffix == ".db"]  # noqa: ASYNC240
