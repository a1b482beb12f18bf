"""Fixtures for the contract tests: a signed-in user's access token."""

from __future__ import annotations

import httpx
import pytest

from flow import authorize, exchange
from servers import Bridge, Emulator


@pytest.fixture(scope="session")
def access_token(bridge: Bridge, emulator: Emulator) -> str:
    """One real sign-in (IB's login on the emulator, then the code exchange)."""
    response = exchange(bridge.url, authorize(bridge.url, emulator.platform_url))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    # A token the bridge refuses would turn every authenticated case into a documented 401.
    userinfo = httpx.get(
        f"{bridge.url}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert userinfo.status_code == 200, userinfo.text
    return token
