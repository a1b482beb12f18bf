"""Two bridge processes (two hosts behind one load balancer, as far as a client can tell) on one
Redis store: a login started on one completes on the other, a code issued through one is
exchanged on the other, refresh tokens rotate across them, and a revocation on one is refused on
the other within a second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow import (
    LOOPBACK_REDIRECT,
    Authorized,
    exchange,
    pkce_pair,
    refresh,
    sign_in_at_ib,
    start_login,
    wait_for_redirect,
)
from redis_server import RedisServer
from servers import Bridge, Emulator, bridge_env, free_port


@pytest.fixture
def bridges(
    emulator: Emulator, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[Bridge, Bridge]]:
    """A and B: the same issuer, keys and secrets (one deployment), the same Redis store."""
    port_a, port_b = free_port(), free_port()
    env = bridge_env(port_a, emulator, tmp_path / "a",
                     IB_BRIDGE_STORE_URL=redis_server.url_for_test())
    a = Bridge(port_a, tmp_path / "a", env)
    b = Bridge(port_b, tmp_path / "b", {**env, "IB_BRIDGE_DATA_DIR": str(tmp_path / "b")})
    a.start()
    try:
        b.start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def test_one_sign_in_across_two_bridges_on_one_redis(
    bridges: tuple[Bridge, Bridge], emulator: Emulator, tmp_path: Path
) -> None:
    a, b = bridges
    verifier, challenge = pkce_pair()
    with httpx.Client(timeout=10) as browser:  # its cookie goes to both (one host name)
        login_url, _ = start_login(browser, a.url, emulator.platform_url,
                                   challenge=challenge, state="s1")
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, b.url)  # polled on B
    code = httpx.URL(redirect_to).params["code"]
    authorized = Authorized(code, "s1", a.url, verifier, LOOPBACK_REDIRECT, "mcp-public-client")

    answer = exchange(a.url, authorized)  # exchanged on A
    assert answer.status_code == 200, answer.text
    assert exchange(b.url, authorized).json()["error"] == "invalid_grant"  # single use, on B too
    # That replay revoked what the code issued, everywhere: sign in again for the rest. (The
    # login page's posts carry the issuer's Origin, A's URL here, so logins start on A.)
    with httpx.Client(timeout=10) as browser:
        verifier, challenge = pkce_pair()
        login_url, _ = start_login(browser, a.url, emulator.platform_url,
                                   challenge=challenge, state="s2")
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, b.url)
    authorized = Authorized(httpx.URL(redirect_to).params["code"], "s2", a.url, verifier,
                            LOOPBACK_REDIRECT, "mcp-public-client")
    tokens = exchange(a.url, authorized).json()

    rotated = refresh(b.url, tokens["refresh_token"])  # refreshed on B
    assert rotated.status_code == 200, rotated.text
    tokens = rotated.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = httpx.get(f"{a.url}/userinfo", headers=bearer, timeout=10).json()
    api = f"api/3.0.0/{info['ib_client_id']}/resource.limit(1)"
    for bridge in (a, b):  # the proxy on both
        proxied = httpx.get(f"{bridge.url}/proxy/{api}", headers=bearer, timeout=10)
        assert proxied.status_code == 200, proxied.text

    revoked = httpx.post(f"{a.url}/revoke", data={
        "token": tokens["refresh_token"], "client_id": "mcp-public-client"}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    while time.monotonic() - revoked_at < 1.0:  # B's session cache may lag this long
        httpx.get(f"{b.url}/proxy/{api}", headers=bearer, timeout=10)
    after = [httpx.get(f"{b.url}/proxy/{api}", headers=bearer, timeout=10).status_code
             for _ in range(5)]
    assert after == [401] * 5
    assert refresh(b.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # Nothing went to a SQLite file on either host.
    assert not list((tmp_path / "a").glob("*.db"))
    assert not list((tmp_path / "b").glob("*.db"))
