"""Shared fixtures: one IB emulator and one bridge per test session, as real processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servers import Bridge, Emulator, bridge_env, free_port, start_emulator


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


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    """Undo latency, failures and expired sessions that an earlier test set."""
    if "emulator" in request.fixturenames:
        emulator: Emulator = request.getfixturevalue("emulator")
        emulator.control("config", {"latency_ms": 0, "login_timeout_hours": 24})
