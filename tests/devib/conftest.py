"""Runs the IB emulator in-process as a real uvicorn server on a loopback port for these tests.

The fixture is named `ib`, not `emulator`: tests/conftest.py owns `emulator` (a subprocess started
through the CLI) and an autouse hook keyed on that name.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from ib_oauth_bridge.devib import EmulatorConfig, create_app


@dataclass(frozen=True)
class RunningEmulator:
    config: EmulatorConfig

    @property
    def platform(self) -> str:
        return self.config.platform_url

    @property
    def api(self) -> str:
        return self.config.api_v3_url

    def v3(self, path: str) -> str:
        return f"{self.api}/api/3.0.0/{self.config.ib_client_id}/{path}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def ib_server() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(platform_host="127.0.0.1", api_host="localhost", port=_free_port())
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=config.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("IB emulator did not start")
        time.sleep(0.01)
    yield RunningEmulator(config)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def _http() -> Iterator[httpx.Client]:
    # One client for the session: building one per test (its TLS context) costs ~0.2 s each.
    with httpx.Client(timeout=30) as http:
        yield http


@pytest.fixture
def client(_http: httpx.Client) -> httpx.Client:
    _http.cookies.clear()  # IB's AWSALB cookie must not leak from one test into the next
    return _http


@pytest.fixture
def ib(ib_server: RunningEmulator, client: httpx.Client) -> RunningEmulator:
    """The running ib, reset before each test so tests never see each other's state."""
    client.post(f"{ib_server.platform}/_emulator/reset").raise_for_status()
    return ib_server


@pytest.fixture
def sign_in(ib: RunningEmulator, client: httpx.Client) -> SignIn:
    """Runs the whole browser login for a user and returns the login info body."""

    def run(username: str = "demo", password: str = "demo") -> dict[str, Any]:
        token = client.post(f"{ib.platform}/v1/auth/app/token").json()["content"]
        form = {"token": token, "username": username, "password": password, "action": "login"}
        client.post(f"{ib.platform}/auth/login", data=form).raise_for_status()
        info = client.get(f"{ib.platform}/v1/auth/app/info", params={"token": token})
        info.raise_for_status()
        body: dict[str, Any] = info.json()
        return body

    return run


@pytest.fixture
def sid(sign_in: SignIn) -> str:
    value: str = sign_in()["content"]["session"]["sid"]
    return value


SignIn = Callable[..., dict[str, Any]]
