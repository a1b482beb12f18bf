"""A signed-in user for integration tests (see tests/signed_in.py)."""

from __future__ import annotations

import pytest

from servers import Bridge, Emulator
from signed_in import SignedIn, sign_in


@pytest.fixture
def signed_in(bridge: Bridge, emulator: Emulator) -> SignedIn:
    return sign_in(bridge, emulator)
