"""Shared fixtures: one IB emulator and one bridge per test session, as real processes, and
examples/mcp_server in front of that bridge for the modules that drive MCP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servers import (
    Bridge,
    Emulator,
    McpServer,
    bridge_env,
    free_port,
    running_mcp_server,
    start_emulator,
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def bridge(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("bridge")
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_server(bridge: Bridge, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    """examples/mcp_server protected by the session's bridge, one per test module."""
    with running_mcp_server(bridge.url, tmp_path_factory.mktemp("mcp_server")) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    """Undo latency, failures and expired sessions that an earlier test set."""
    if "emulator" in request.fixturenames:
        emulator: Emulator = request.getfixturevalue("emulator")
        emulator.control("config", {"latency_ms": 0, "login_timeout_hours": 24})
