"""The playground and the login page in a real browser: the whole sign-in with IB's page in a
popup, the signed-in step (who signed in, Continue, Not you), the blocked-popup fallback, a
refused address, and Cancel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, expect

from servers import Bridge, Emulator

if TYPE_CHECKING:
    from conftest import BrowserErrors  # tests/browser/conftest.py

USER_NAME = "Ada Lovelace"
SIGNED_IN_AS = "Ada Lovelace (ada@example.com)"


def open_login_page(page: Page, bridge: Bridge) -> None:
    """From the playground, start signing in: the bridge's login page opens in the same tab."""
    page.goto(f"{bridge.url}/")
    expect(page.locator("#signin")).to_be_enabled()
    page.locator("#signin").click()
    page.wait_for_url(re.compile(r"/authorize\?"))
    expect(page.locator("#platform-form")).to_be_visible()


def sign_in_at_ib(ib_page: Page, emulator: Emulator) -> None:
    """What the user does on IB's own page (the emulator's)."""
    ib_page.wait_for_load_state()
    assert ib_page.url.startswith(emulator.platform_url), ib_page.url
    ib_page.get_by_label("Username").fill("demo")
    ib_page.get_by_label("Password").fill("demo")
    ib_page.get_by_role("button", name="Sign in").click()


def expect_signed_in_step(page: Page) -> None:
    """The login page has noticed the sign-in: it says who signed in, announces it, moves
    focus to Continue, and stays put until the person chooses (WCAG 2.2.1)."""
    step = page.locator("#signed-in-step")
    expect(step).to_be_visible()
    expect(page.locator("#signed-in-as")).to_have_text(SIGNED_IN_AS)
    expect(page.locator("#status")).to_contain_text(f"Signed in as {SIGNED_IN_AS}")
    continue_button = page.locator("#confirm-continue")
    expect(continue_button).to_be_focused()
    expect(continue_button).to_have_text(re.compile(r"^Continue to \S"))
    expect(step.get_by_role("button", name="Cancel")).to_be_visible()
    expect(page.locator("#platform-form")).to_be_hidden()
    assert "/authorize" in page.url, "the page must not leave for the app on its own"


def expect_signed_in(page: Page, bridge: Bridge) -> None:
    """The person chose Continue (Enter on the focused button): the tab is back at the
    playground, signed in."""
    expect_signed_in_step(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{bridge.url}/**")
    expect(page.locator("#playground")).to_be_visible()
    expect(page.locator("#userinfo")).to_contain_text(USER_NAME)
    expect(page.locator("#resources tbody tr").first).to_be_visible()
    expect(page.locator("#error")).to_be_hidden()


def test_playground_full_flow(
    page: Page, bridge: Bridge, emulator: Emulator, browser_errors: BrowserErrors, tmp_path: Path
) -> None:
    open_login_page(page, bridge)
    address = page.get_by_label("Your IntelligenceBank address")
    # Dev mode prefills the emulator's platform URL.
    expect(address).to_have_value(emulator.platform_url)
    page.screenshot(path=tmp_path / "login-page.png", full_page=True)

    with page.expect_popup() as popup_info:
        page.locator("#continue").click()
    popup = popup_info.value
    expect(page.locator("#status")).to_contain_text("Waiting for you to sign in")
    page.screenshot(path=tmp_path / "login-waiting.png", full_page=True)
    sign_in_at_ib(popup, emulator)

    expect_signed_in_step(page)
    page.screenshot(path=tmp_path / "login-signed-in.png", full_page=True)
    expect_signed_in(page, bridge)
    if not popup.is_closed():  # the login page closes IB's window when it is done
        popup.wait_for_event("close")
    assert "code=" not in page.url, "the playground should take the code out of the address bar"
    assert page.locator("#resources tbody tr").count() >= 1
    expect(page.locator("#claims")).to_contain_text(f'"iss": "{bridge.url}"')
    expect(page.locator("#steps li.ok")).to_contain_text(
        ["authorized", "token received", "userinfo", "resources"]
    )
    page.screenshot(path=tmp_path / "playground-signed-in.png", full_page=True)

    page.locator("#refresh").click()
    expect(page.locator("#steps li.ok").last).to_contain_text("token refreshed")
    expect(page.locator("#steps li.fail")).to_have_count(0)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#refresh")).to_be_enabled()
    page.screenshot(path=tmp_path / "playground-refreshed.png", full_page=True)

    browser_errors.assert_none(bridge.url)


def test_popup_blocked_fallback_link(
    context: BrowserContext,
    page: Page,
    bridge: Bridge,
    emulator: Emulator,
    browser_errors: BrowserErrors,
    tmp_path: Path,
) -> None:
    # As a popup blocker does: window.open gives nothing back.
    context.add_init_script("window.open = () => null")
    open_login_page(page, bridge)
    page.locator("#continue").click()

    status = page.locator("#status")
    expect(status).to_contain_text("Your browser blocked the pop-up window.")
    link = status.get_by_role("link", name="Open the IntelligenceBank sign-in page")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", re.compile("^" + re.escape(emulator.platform_url)))
    page.screenshot(path=tmp_path / "login-popup-blocked.png", full_page=True)

    # The link is a plain target=_blank link: the browser opens a new tab that the page cannot
    # close, and the login page keeps polling.
    with context.expect_page() as tab_info:
        link.click()
    tab = tab_info.value
    expect(status).to_contain_text("Waiting for you to sign in")
    sign_in_at_ib(tab, emulator)

    expect_signed_in(page, bridge)
    browser_errors.assert_none(bridge.url)


def test_bad_platform_url_message(
    context: BrowserContext,
    page: Page,
    bridge: Bridge,
    browser_errors: BrowserErrors,
    tmp_path: Path,
) -> None:
    open_login_page(page, bridge)
    login_url = page.url
    address = page.get_by_label("Your IntelligenceBank address")
    address.fill("http://example.com")
    page.locator("#continue").click()

    error = page.locator("#platform_url-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_be_focused()
    # The message is tied to the field for screen readers.
    assert "platform_url-error" in (address.get_attribute("aria-describedby") or "")
    page.screenshot(path=tmp_path / "login-bad-address.png", full_page=True)

    assert page.url == login_url
    assert len(context.pages) == 1, "no sign-in window should open for a refused address"
    expect(page.locator("#continue")).to_be_enabled()
    expect(address).to_be_editable()

    # Typing again clears the error.
    address.fill("http://example.co")
    expect(error).to_be_hidden()
    expect(address).not_to_have_attribute("aria-invalid", "true")
    # Chromium itself logs the 400 answer of the fetch; the page adds nothing.
    browser_errors.assert_none(bridge.url, ignore="/authorize/platform)")


def test_cancel_returns_error_to_client(
    page: Page, bridge: Bridge, browser_errors: BrowserErrors, tmp_path: Path
) -> None:
    open_login_page(page, bridge)
    page.locator("#cancel").click()

    page.wait_for_url(f"{bridge.url}/**")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("access_denied")
    expect(page.locator("#steps li.fail")).to_contain_text("access_denied")
    expect(page.locator("#userinfo-section")).to_be_hidden()
    expect(page.locator("#startover")).to_be_visible()
    assert "error=" not in page.url, "the playground should tidy the address bar"
    page.screenshot(path=tmp_path / "playground-cancelled.png", full_page=True)
    browser_errors.assert_none(bridge.url)


def test_not_you_cancel_returns_access_denied(
    page: Page, bridge: Bridge, emulator: Emulator, browser_errors: BrowserErrors
) -> None:
    """Someone else's identity on the signed-in step: "Not you? Cancel" sends the app
    access_denied instead of the sign-in."""
    open_login_page(page, bridge)
    with page.expect_popup() as popup_info:
        page.locator("#continue").click()
    sign_in_at_ib(popup_info.value, emulator)
    expect_signed_in_step(page)

    page.locator("#signed-in-step").get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{bridge.url}/**")
    expect(page.locator("#error")).to_contain_text("access_denied")
    expect(page.locator("#userinfo-section")).to_be_hidden()
    browser_errors.assert_none(bridge.url)


def test_without_javascript_the_forms_still_sign_in(
    chromium: Browser, bridge: Bridge, emulator: Emulator
) -> None:
    """The login page's no-JS path: plain form posts, IB's page in a new tab, then Continue."""
    context = chromium.new_context(java_script_enabled=False)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        # The playground needs JavaScript to start, so make its /authorize request here.
        params = urlencode(
            {
                "response_type": "code",
                "client_id": "mcp-public-client",
                "redirect_uri": f"{bridge.url}/",
                "state": "no-js-state",
                "scope": "ib.read profile",  # profile: the name the playground shows
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "platform_url": emulator.platform_url,
            }
        )
        page.goto(f"{bridge.url}/authorize?{params}")
        expect(page.get_by_label("Your IntelligenceBank address")).to_have_value(
            emulator.platform_url
        )
        page.locator("#continue").click()

        link = page.locator("#login-link")
        expect(link).to_be_visible()
        with context.expect_page() as tab_info:
            link.click()
        sign_in_at_ib(tab_info.value, emulator)

        page.get_by_role("button", name="I've signed in — continue").click()
        # The signed-in step, drawn by the server: who signed in, Continue focused.
        expect(page.locator("#signed-in-as")).to_have_text(SIGNED_IN_AS)
        expect(page.locator("#confirm-continue")).to_be_focused()
        expect(page.get_by_role("button", name="Cancel")).to_be_visible()
        assert "code=" not in page.url
        page.locator("#confirm-continue").click()
        page.wait_for_url(re.compile(re.escape(f"{bridge.url}/?") + r".*code="))
        query = parse_qs(urlsplit(page.url).query)
        assert query["state"] == ["no-js-state"]
        assert query["iss"] == [bridge.url]
    finally:
        context.close()
