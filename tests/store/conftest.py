from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_support import Backend, SQLiteBackend, backend_names

from ib_oauth_bridge.store import Store


@pytest.fixture(params=backend_names())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SQLiteBackend(str(tmp_path / "data" / "bridge.db"))
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    s = backend.open()
    yield s
    s.close()
