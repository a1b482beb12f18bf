"""Several worker processes on one host share the SQLite store: a flow started in one worker
finishes in another, and single use holds across them."""

from __future__ import annotations

import time

import httpx

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator, bridge_env, free_port


def test_flows_across_worker_processes(emulator: Emulator, tmp_path) -> None:
    port = free_port()
    server = Bridge(port, tmp_path, bridge_env(port, emulator, tmp_path))
    server.start("--workers", "3")
    try:
        # New connections land on any worker: every step here may hit another process.
        for _ in range(3):
            authorized = authorize(server.url, emulator.platform_url)
            tokens = exchange(server.url, authorized).json()
            assert exchange(server.url, authorized).json()["error"] == "invalid_grant"
            assert httpx.get(f"{server.url}/userinfo", headers={
                "Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
        fresh = exchange(server.url, authorize(server.url, emulator.platform_url)).json()
        rotated = refresh(server.url, fresh["refresh_token"]).json()
        assert refresh(server.url, rotated["refresh_token"]).status_code == 200
    finally:
        server.stop()


def test_a_revocation_reaches_every_worker_within_a_second(emulator: Emulator, tmp_path) -> None:
    """Each worker caches live sessions for the proxy's hot path; a revocation made in one
    worker must empty the others' caches within one second (they read the store's revocation
    count at most every half second)."""
    port = free_port()
    server = Bridge(port, tmp_path, bridge_env(port, emulator, tmp_path))
    server.start("--workers", "2")
    try:
        tokens = exchange(server.url, authorize(server.url, emulator.platform_url)).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        # New connections land on either worker: warm both caches.
        for _ in range(20):
            assert httpx.get(f"{server.url}/userinfo", headers=bearer).status_code == 200
        assert httpx.post(f"{server.url}/revoke", data={
            "token": tokens["refresh_token"], "client_id": "mcp-public-client"}).status_code == 200
        revoked_at = time.monotonic()
        while time.monotonic() - revoked_at < 1.0:  # requests may still succeed in this second
            httpx.get(f"{server.url}/userinfo", headers=bearer)
        after = [httpx.get(f"{server.url}/userinfo", headers=bearer).status_code
                 for _ in range(20)]
        assert after == [401] * 20
    finally:
        server.stop()
