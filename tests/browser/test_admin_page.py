"""The admin page in a real browser: an operator signs in through the bridge's own sign-in page,
sees a grant made by a scripted sign-in, revokes it (the row goes, the grant's token is refused at
the proxy); axe-core finds no WCAG 2 A/AA violation on the page; a non-admin user is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from browser_a11y import axe_violations
from playwright.sync_api import Page, expect

from servers import Bridge, Emulator, bridge_env, free_port
from signed_in import sign_in

if TYPE_CHECKING:
    from conftest import BrowserErrors  # tests/browser/conftest.py



@pytest.fixture(scope="module")
def admin_bridge(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """A bridge whose admin page is on, with demo (u-demo) as its one operator."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("admin-page")
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir, IB_BRIDGE_ADMINS="u-demo"))
    server.start()
    yield server
    server.stop()


def sign_in_on_the_page(page: Page, bridge: Bridge, username: str) -> None:
    """Open /admin and sign in as `username` on the bridge's own sign-in page (IB in a popup)."""
    page.goto(f"{bridge.url}/admin")
    page.wait_for_url(f"{bridge.url}/authorize?**")
    with page.expect_popup() as popup_info:
        page.locator("#continue").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.locator("#username").fill(username)
    popup.locator("#password").fill(username)
    popup.locator("#password").press("Enter")
    page.locator("#confirm-continue").click()


def test_admin_revokes_a_grant(
    page: Page, admin_bridge: Bridge, emulator: Emulator, browser_errors: BrowserErrors
) -> None:
    user = sign_in(admin_bridge, emulator, username="grace")
    proxied = f"{admin_bridge.url}/proxy/{user.api('resource.limit(1)')}"
    assert httpx.get(proxied, headers=user.auth).status_code == 200

    sign_in_on_the_page(page, admin_bridge, "demo")
    page.wait_for_url(f"{admin_bridge.url}/admin")
    expect(page.get_by_role("heading", name="IB OAuth Bridge admin")).to_be_visible()
    row = page.locator("#grants tbody tr", has_text="grace@example.com")
    expect(row).to_have_count(1)

    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{admin_bridge.url}/admin?revoked=1")
    expect(page.get_by_role("status")).to_have_text("The grant was revoked.")
    expect(page.locator("#grants tbody tr", has_text="grace@example.com")).to_have_count(0)
    assert httpx.get(proxied, headers=user.auth).status_code == 401
    expect(page.locator("#events tbody tr", has_text="grant.ended").first).to_contain_text("admin")

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        violations = axe_violations(page)
        assert not violations, f"admin page ({scheme}): " + json.dumps(violations, indent=1)
    browser_errors.assert_none(admin_bridge.url)


def test_a_non_admin_is_refused(
    page: Page, admin_bridge: Bridge, browser_errors: BrowserErrors
) -> None:
    sign_in_on_the_page(page, admin_bridge, "grace")
    expect(page.get_by_role("heading", name="Not an administrator")).to_be_visible()
    page.goto(f"{admin_bridge.url}/admin")
    page.wait_for_url(f"{admin_bridge.url}/authorize?**")  # no session: signs in again
    browser_errors.assert_none(admin_bridge.url, ignore="403")
