from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_support import Backend, FakeClock, RedisBackend, SQLiteBackend, backend_names

from ib_oauth_bridge.store import Store


@pytest.fixture
def anyio_backend() -> str:
    # The bridge runs on asyncio (uvicorn); the contract is not tested on trio.
    return "asyncio"


@pytest.fixture(params=backend_names())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SQLiteBackend(str(tmp_path / "data" / "bridge.db"))
    if request.param == "redis":
        # The session's redis-server (skipped without one, failed under CI), under a key
        # prefix of this test's own: a fresh, empty store.
        return RedisBackend(request.getfixturevalue("redis_server").url_for_test())
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(backend: Backend, clock: FakeClock) -> AsyncIterator[Store]:
    s = backend.open(clock)
    yield s
    await s.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A forgotten `await` leaves a coroutine object, which is truthy: `assert store.ping()`
    # would pass without running anything. Python warns when such a coroutine is dropped;
    # make that warning fail the test instead.
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(
                pytest.mark.filterwarnings("error:coroutine .* was never awaited:RuntimeWarning")
            )
