"""Fixtures for the SDK helper tests: a scripted browser that signs in on the emulator, and
signed-in token holders. The bridge and emulator are the session fixtures of tests/conftest.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

try:
    import ib_oauth_bridge_client.helpers  # noqa: F401
except ImportError:  # the SDK is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk" / "src"))

from ib_oauth_bridge_client.helpers import IB, MemoryTokenStore, TokenHolder, login

from flow import form_value, sign_in_at_ib, wait_for_redirect
from servers import Bridge, Emulator


class ScriptedBrowser:
    """Stands in for the user's browser: given the authorization URL it does what the login page
    and the user do (or cancels), then follows the redirect to the loopback listener."""

    def __init__(self, bridge: Bridge, emulator: Emulator, action: str = "sign_in") -> None:
        self.bridge, self.emulator, self.action = bridge, emulator, action
        self.urls: list[str] = []
        self.callback: httpx.Response | None = None

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        with httpx.Client(timeout=10) as browser:
            page = browser.get(url)
            assert page.status_code == 200, page.text
            csrf = form_value(page.text, "csrf_token")
            if self.action == "cancel":
                answer = browser.post(f"{self.bridge.url}/authorize/cancel",
                                      data={"csrf_token": csrf})
                assert answer.status_code == 303, answer.text
                redirect_to = answer.headers["location"]
            else:
                started = browser.post(
                    f"{self.bridge.url}/authorize/platform",
                    data={"platform_url": self.emulator.platform_url, "csrf_token": csrf},
                    headers={"Accept": "application/json", "Origin": self.bridge.url})
                assert started.status_code == 200, started.text
                sign_in_at_ib(started.json()["login_url"])
                redirect_to = wait_for_redirect(browser, self.bridge.url)
        self.callback = httpx.get(redirect_to, timeout=10)
        return True


@pytest.fixture
def browser(bridge: Bridge, emulator: Emulator) -> ScriptedBrowser:
    return ScriptedBrowser(bridge, emulator)


@pytest.fixture
def cancelling_browser(bridge: Bridge, emulator: Emulator) -> ScriptedBrowser:
    """A browser whose user presses Cancel on the login page."""
    return ScriptedBrowser(bridge, emulator, action="cancel")


@pytest.fixture
def holder(bridge: Bridge, browser: ScriptedBrowser) -> TokenHolder:
    """A fresh sign-in (its own grant), tokens in memory."""
    return login(bridge.url, open_browser=browser, timeout=30, store=MemoryTokenStore())


@pytest.fixture(scope="module")
def ib(bridge: Bridge, emulator: Emulator) -> Iterator[IB]:
    """One signed-in IB helper shared by a module's read-mostly tests."""
    holder = login(bridge.url, open_browser=ScriptedBrowser(bridge, emulator), timeout=30)
    with IB(bridge.url, holder) as client:
        yield client
