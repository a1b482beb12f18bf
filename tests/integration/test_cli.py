"""`ib-oauth-bridge dev`: one command brings up emulator and bridge, and Ctrl-C stops both."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import httpx

from flow import authorize_url, pkce_pair
from servers import CLI, free_port, wait_until_up


def test_dev_starts_both_and_stops_cleanly(tmp_path) -> None:
    port, emulator_port = free_port(), free_port()
    env = {**os.environ, "IB_BRIDGE_CLIENTS": json.dumps(
        [{"client_id": "from-env", "redirect_uris": ["http://127.0.0.1:9/cb"]}])}
    process = subprocess.Popen(
        [CLI, "dev", "--port", str(port), "--emulator-port", str(emulator_port),
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        bridge = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{bridge}/").status_code == 200  # the playground, dev mode only
        metadata = httpx.get(f"{bridge}/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == bridge
        assert httpx.get(f"http://127.0.0.1:{emulator_port}/_emulator/config").status_code == 200
        # Clients registered through the environment work in dev mode too (the examples').
        registered = httpx.get(authorize_url(bridge, client_id="from-env",
                                             redirect_uri="http://127.0.0.1:9/cb",
                                             challenge=pkce_pair()[1], state="s"))
        assert registered.status_code == 200
        # Keys are generated once, owner-only, and kept for the next start.
        secrets_file = tmp_path / "data" / "dev-secrets.json"
        assert secrets_file.stat().st_mode & 0o777 == 0o600
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "demo / demo" in output
    assert f"http://127.0.0.1:{port}/" in output
    for port_ in (port, emulator_port):
        try:
            httpx.get(f"http://127.0.0.1:{port_}/healthz", timeout=1)
            raise AssertionError(f"port {port_} still answers after Ctrl-C")
        except httpx.ConnectError:
            pass
