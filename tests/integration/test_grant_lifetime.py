"""Long-forgotten grants end: a refresh limit, and never past the IB session, over real sockets.
The idle timeout and every other lifetime are tested in-process with a moved clock
(tests/inprocess/test_lifetimes.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator, bridge_env, free_port


@pytest.fixture(scope="module")
def strict_bridge(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Bridge]:
    port, data_dir = free_port(), tmp_path_factory.mktemp("strict")
    env = bridge_env(port, emulator, data_dir, IB_BRIDGE_MAX_REFRESHES="2",
                     IB_BRIDGE_REFRESH_IDLE_TIMEOUT="2", IB_BRIDGE_ACCESS_TOKEN_TTL="86400")
    server = Bridge(port, data_dir, env)
    server.start()
    yield server
    server.stop()


def test_refresh_limit_ends_the_grant(strict_bridge: Bridge, emulator: Emulator) -> None:
    token = exchange(strict_bridge.url, authorize(strict_bridge.url, emulator.platform_url)).json()
    for _ in range(2):
        token = refresh(strict_bridge.url, token["refresh_token"]).json()
        assert "access_token" in token, token
    ended = refresh(strict_bridge.url, token["refresh_token"])
    assert ended.json()["error"] == "invalid_grant"
    userinfo = httpx.get(f"{strict_bridge.url}/userinfo",
                         headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 401


def test_tokens_never_outlive_the_ib_session(strict_bridge: Bridge, emulator: Emulator) -> None:
    emulator.control("config", {"login_timeout_hours": 1})
    token = exchange(strict_bridge.url, authorize(strict_bridge.url, emulator.platform_url)).json()
    # The bridge would give a day (ACCESS_TOKEN_TTL=86400); IB's session lasts an hour.
    assert 3500 < token["expires_in"] <= 3600
