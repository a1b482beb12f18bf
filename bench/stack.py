"""The system under test: the IB emulator and the bridge as separate processes on loopback ports,
started exactly as the integration tests start them (tests/servers.py), and the two ways in:
a bridge access token (the OAuth flow of tests/flow.py) and, for the baseline, a sid of the
benchmark's own from IB's browser-login API (what the bridge itself does, done directly)."""

from __future__ import annotations

import ipaddress
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from flow import authorize, exchange, sign_in_at_ib
from ib_oauth_bridge.ib.browser_login import login_page_url, parse_login
from servers import Bridge, Emulator, bridge_env, free_port, start_emulator

# The small IB call every measurement repeats (relative to the API root and the tenant).
CALL = "resource.limit(0,10).order(lastUpdateTime:-1)"


@dataclass(frozen=True)
class Target:
    """One way to make the same IB call: a URL and the headers that authenticate it."""

    name: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Stack:
    emulator: Emulator
    bridge: Bridge
    direct: Target
    proxied: Target

    @property
    def pids(self) -> dict[str, int]:
        assert self.bridge.process is not None
        return {"emulator": self.emulator.process.pid, "bridge": self.bridge.process.pid}


def require_loopback(url: str) -> None:
    """The benchmark sends traffic to this machine only."""
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise RuntimeError(f"{url} is not a loopback address; the benchmark stays on this host")


def bridge_target(bridge: Bridge, emulator: Emulator) -> Target:
    """Sign in once through the bridge (browser flow, code exchange) and aim at its proxy."""
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = httpx.get(f"{bridge.url}/userinfo", headers=auth, timeout=10).json()
    url = f"{bridge.url}/proxy/api/3.0.0/{info['ib_client_id']}/{CALL}"
    return Target("proxied", url, auth)


def direct_target(emulator: Emulator) -> Target:
    """The baseline: IB's browser login done by hand, as the bridge does it: a sid of our own."""
    platform = emulator.platform_url
    with httpx.Client(timeout=10) as ib:
        login_token = ib.post(f"{platform}/v1/auth/app/token").json()["content"]
        sign_in_at_ib(login_page_url(platform, login_token))
        answer = ib.get(f"{platform}/v1/auth/app/info", params={"token": login_token})
    answer.raise_for_status()
    login = parse_login(answer.json())
    url = f"{login.api_v3_url}/api/3.0.0/{login.ib_client_id}/{CALL}"
    return Target("direct", url, {"sid": login.sid})


def check(target: Target) -> None:
    response = httpx.get(target.url, headers=target.headers, timeout=10)
    if response.status_code != 200 or not response.json():
        raise RuntimeError(f"{target.name}: {target.url} answered {response.status_code}")


@contextmanager
def running_stack() -> Iterator[Stack]:
    """Start both servers, sign in both ways, and always stop the processes afterwards."""
    emulator: Emulator | None = None
    bridge: Bridge | None = None
    with tempfile.TemporaryDirectory(prefix="ib-bridge-bench-") as data:
        try:
            emulator = start_emulator()
            port = free_port()
            data_dir = Path(data)
            bridge = Bridge(port, data_dir, bridge_env(port, emulator, data_dir))
            bridge.start()
            proxied = bridge_target(bridge, emulator)
            direct = direct_target(emulator)
            for target in (direct, proxied):
                require_loopback(target.url)
                check(target)
            yield Stack(emulator, bridge, direct, proxied)
        finally:
            for server in (bridge, emulator):
                if server is not None:
                    with suppress(Exception):
                        server.stop()
            for server in (bridge, emulator):
                process = server.process if server is not None else None
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
