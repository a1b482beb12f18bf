"""The system under test: the IB emulator and one bridge per worker count, each a separate
process (tree) on its own loopback port, started exactly as the integration tests start them
(tests/servers.py), and the two ways in: a bridge access token (the OAuth flow of
tests/flow.py) and, for the baseline, a sid of the benchmark's own from IB's browser-login API
(what the bridge itself does, done directly). All bridges run for the whole benchmark, so one
direct baseline serves them all; a bridge that is not being measured sits idle."""

from __future__ import annotations

import ipaddress
import socket
import tempfile
from collections.abc import Iterator, Sequence
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


# Authorization codes live this long at the bench bridges (the default is 60 s), so that the
# codes minted for the exchange measurement are all still good when it runs.
CODE_TTL = 1800


@dataclass(frozen=True)
class Target:
    """One way into the same IB tenant: its API root (`.../api/3.0.0/{clientid}`) and the headers
    that authenticate a call there."""

    name: str
    base: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        """The small call every latency and throughput measurement repeats."""
        return f"{self.base}/{CALL}"


@dataclass(frozen=True)
class BridgeUnderTest:
    """One bridge process (tree) serving `workers` workers, signed in once."""

    workers: int
    bridge: Bridge
    target: Target

    @property
    def label(self) -> str:
        return f"{self.workers} worker" + ("s" if self.workers != 1 else "")

    @property
    def pid(self) -> int:
        assert self.bridge.process is not None
        return self.bridge.process.pid


@dataclass(frozen=True)
class Stack:
    emulator: Emulator
    direct: Target
    bridges: list[BridgeUnderTest]

    def pids(self, bridge: BridgeUnderTest | None = None) -> dict[str, int]:
        """Root process ids to meter: the emulator, and the bridge being measured, if any."""
        pids = {"emulator": self.emulator.process.pid}
        if bridge is not None:
            pids["bridge"] = bridge.pid
        return pids


def require_loopback(url: str) -> None:
    """The benchmark sends traffic to this machine only."""
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise RuntimeError(f"{url} is not a loopback address; the benchmark stays on this host")


def bridge_target(bridge: Bridge, emulator: Emulator, name: str) -> Target:
    """Sign in once through the bridge (browser flow, code exchange) and aim at its proxy."""
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = httpx.get(f"{bridge.url}/userinfo", headers=auth, timeout=10).json()
    return Target(name, f"{bridge.url}/proxy/api/3.0.0/{info['ib_client_id']}", auth)


def direct_target(emulator: Emulator) -> Target:
    """The baseline: IB's browser login done by hand, as the bridge does it: a sid of our own."""
    platform = emulator.platform_url
    with httpx.Client(timeout=10) as ib:
        login_token = ib.post(f"{platform}/v1/auth/app/token").json()["content"]
        sign_in_at_ib(login_page_url(platform, login_token))
        answer = ib.get(f"{platform}/v1/auth/app/info", params={"token": login_token})
    answer.raise_for_status()
    login = parse_login(answer.json())
    base = f"{login.api_v3_url}/api/3.0.0/{login.ib_client_id}"
    return Target("direct", base, {"sid": login.sid})


def check(target: Target) -> None:
    response = httpx.get(target.url, headers=target.headers, timeout=10)
    if response.status_code != 200 or not response.json():
        raise RuntimeError(f"{target.name}: {target.url} answered {response.status_code}")


@contextmanager
def running_stack(worker_counts: Sequence[int]) -> Iterator[Stack]:
    """Start the emulator and one bridge per worker count (each with its own data directory and
    keys), sign in every way, and always stop the processes afterwards."""
    emulator: Emulator | None = None
    bridges: list[Bridge] = []
    with tempfile.TemporaryDirectory(prefix="ib-bridge-bench-") as data:
        try:
            emulator = start_emulator()
            direct = direct_target(emulator)
            under_test = []
            for workers in worker_counts:
                port = free_port()
                data_dir = Path(data) / f"bridge-{len(bridges)}"
                env = bridge_env(
                    port,
                    emulator,
                    data_dir,
                    IB_BRIDGE_CODE_TTL=str(CODE_TTL),
                    # One token carries every load worker's calls: the per-grant cap and rate
                    # limit (defences against one user starving the others) are set out of
                    # reach, so the figures measure the proxy, not the limits.
                    IB_BRIDGE_PROXY_MAX_CONCURRENT_PER_GRANT="128",
                    IB_BRIDGE_PROXY_RATE_LIMIT="100000000/minute",
                )
                bridge = Bridge(port, data_dir, env)
                bridges.append(bridge)
                bridge.start("--workers", str(workers))
                target = bridge_target(bridge, emulator, f"proxied, {workers} w")
                under_test.append(BridgeUnderTest(workers, bridge, target))
            for target in (direct, *(b.target for b in under_test)):
                require_loopback(target.url)
                check(target)
            yield Stack(emulator, direct, under_test)
        finally:
            servers: list[Bridge | Emulator] = [*bridges]
            if emulator is not None:
                servers.append(emulator)
            for server in servers:
                with suppress(Exception):
                    server.stop()
            for server in servers:
                process = server.process
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
