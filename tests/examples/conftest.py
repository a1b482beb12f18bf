"""Fixtures for the tests of examples/: where the examples are, the environment to run them in as
programs, and a scripted user who signs in on the bridge's login page and the IB emulator.

The bridge and the emulator are the session fixtures of tests/conftest.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from flow import browser_sign_in
from servers import Emulator

ROOT = Path(__file__).resolve().parents[2]
SDK_SRC = ROOT / "sdk" / "src"

try:
    import ib_oauth_bridge_client  # noqa: F401
except ImportError:  # the SDK is not installed: use the source tree
    sys.path.insert(0, str(SDK_SRC))

SignIn = Callable[[httpx.Client, str], str]
"""``sign_in(browser, authorization_url) -> redirect_to``."""


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return ROOT / "examples"


@pytest.fixture(scope="session")
def example_env() -> dict[str, str]:
    """The environment to run an example in: the SDK importable even when it is not installed,
    output unbuffered (so a test can read a program's prompts as they come), no IB_BRIDGE_*."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("IB_BRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SDK_SRC), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def sign_in(emulator: Emulator) -> SignIn:
    """`flow.browser_sign_in` on the emulator's platform: what the user does with an
    authorization URL. Returns the URL the login page then redirects to, not yet followed."""

    def sign_in(browser: httpx.Client, authorization_url: str) -> str:
        return browser_sign_in(browser, authorization_url, emulator.platform_url)

    return sign_in
