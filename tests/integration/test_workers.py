"""Several worker processes on one host share the SQLite store: a flow started in one worker
finishes in another, and single use holds across them."""

from __future__ import annotations

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
