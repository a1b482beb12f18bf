"""The in-process layer: the bridge app driven through httpx's ASGI transport, IB as the
emulator's app in the same process, a real SQLite file, and time as a clock the test moves.

Protocol and flow logic is tested here, fast and without sleeping; the subprocess tests in
tests/integration prove the same assembly over real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from inprocess_stack import Stack, open_stack


@pytest.fixture
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
