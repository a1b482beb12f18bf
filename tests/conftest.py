"""Shared fixtures: one IB emulator and one bridge per test session, as real processes,
examples/mcp_server in front of that bridge for the modules that drive MCP clients, and for their
Client ID Metadata Document tests an https document with a bridge (and mcp_server) of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from flow import LOOPBACK_REDIRECT
from servers import (
    Bridge,
    Emulator,
    HttpsClientDocument,
    McpServer,
    bridge_env,
    free_port,
    https_client_document,
    running_mcp_server,
    start_emulator,
)

if TYPE_CHECKING:
    from redis_server import RedisServer


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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server per session (skipped without one, failed under CI); tests keep
    apart by key prefix (`redis_server.url_for_test()`)."""
    from redis_server import start_redis

    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_server(bridge: Bridge, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    """examples/mcp_server protected by the session's bridge, one per test module."""
    with running_mcp_server(bridge, tmp_path_factory.mktemp("mcp_server")) as server:
        yield server


@pytest.fixture(scope="module")
def https_client(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpsClientDocument]:
    """An MCP client's metadata document at https://127.0.0.1:PORT/mcp-client.json (a trustme
    CA), for the loopback redirect URI the MCP SDK tests use; a bridge that trusts that CA (the
    session's bridge does not), and examples/mcp_server in front of it. One per test module."""
    with https_client_document(
        emulator,
        tmp_path_factory.mktemp("https_client"),
        redirect_uri=LOOPBACK_REDIRECT,
        client_name="MCP SDK interop test (metadata document)",
    ) as stack:
        yield stack


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    """Undo latency, failures and expired sessions that an earlier test set."""
    if "emulator" in request.fixturenames:
        emulator: Emulator = request.getfixturevalue("emulator")
        emulator.control("config", {"latency_ms": 0, "login_timeout_hours": 24})
