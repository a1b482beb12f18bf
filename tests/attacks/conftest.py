"""The attack suites: one table-driven module per family of attack, each case asserting the
precise refusal (status, error code) and that nothing was issued, stored or connected.

Most families run on the in-process stack of tests/inprocess (its helpers are imported from
there); the sid-leak family runs real processes (tests/servers.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# The in-process stack and its helpers live beside tests/inprocess's own conftest.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inprocess"))

from inprocess_stack import Stack, open_stack


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the bridge's settings."""
    return {}


@pytest.fixture
async def stack(tmp_path: Path, settings_overrides: dict[str, Any]) -> AsyncIterator[Stack]:
    async with open_stack(tmp_path, **settings_overrides) as opened:
        yield opened


@pytest.fixture(scope="module")
async def shared_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """One stack for a whole module whose cases change nothing another case reads (they assert
    on differences, not on absolute counts): a module sets `SHARED_SETTINGS` for its settings."""
    overrides = getattr(request.module, "SHARED_SETTINGS", {})
    async with open_stack(tmp_path_factory.mktemp("shared"), **overrides) as opened:
        yield opened
