"""Every state of the sign-in page in a real browser, the way people meet it: the address typed
the way people type it (and the origin it means, shown before continuing), the last platform
remembered, IB down (Try again), the sign-in expiring while waiting (Start again), the whole
sign-in by keyboard alone, axe-core's WCAG 2 A/AA rules on every page and state, and a phone's
360 px viewport.

Each state is photographed at desktop (1280 px) and phone (360 px) width. A normal run writes
the pictures into a temporary folder; `UPDATE_SCREENSHOTS=1` writes them into
docs/assets/screenshots/ (the docs' "What the user sees" page), to be committed when they change
on purpose. The emulator's and the bridge's ports never appear in a picture: their text is
swapped for fixed ones while it is taken.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from browser_a11y import axe_violations
from playwright.sync_api import Browser, BrowserContext, Page, expect

from servers import Bridge, Emulator, bridge_env, free_port

if TYPE_CHECKING:
    from conftest import BrowserErrors  # tests/browser/conftest.py

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "assets" / "screenshots"
# axe-core, installed by `npm ci` in tests/interop/node (never fetched at test time).
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
SIGNED_IN_AS = "Ada Lovelace (ada@example.com)"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CONTROLS = "a[href], button, input:not([type=hidden]), summary, select, textarea"


# ---- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SHOTS
    return tmp_path


@pytest.fixture
def desktop(page: Page) -> Page:
    page.set_viewport_size(DESKTOP)
    return page


def authorize_url(bridge: Bridge, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": "mcp-public-client",
        "redirect_uri": f"{bridge.url}/",
        "state": "states-test",
        "scope": "ib.read profile email",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{bridge.url}/authorize?{urlencode(params)}"


def fixed_labels(bridge: Bridge, emulator: Emulator) -> list[tuple[str, str]]:
    return [
        (f"127.0.0.1:{emulator.port}", "127.0.0.1:8001"),
        (f"localhost:{emulator.port}", "localhost:8001"),
        (f"127.0.0.1:{bridge.port}", "127.0.0.1:8000"),
    ]


_SWAP = """(pairs) => {
  const fix = (text) => pairs.reduce((acc, [a, b]) => acc.split(a).join(b), text);
  const undo = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const before = node.nodeValue;
    const after = fix(before);
    if (after !== before) { node.nodeValue = after; undo.push(() => { node.nodeValue = before; }); }
  }
  for (const input of document.querySelectorAll("input")) {
    const before = input.value;
    const after = fix(before);
    if (after !== before) { input.value = after; undo.push(() => { input.value = before; }); }
  }
  window.__undoSwap = () => undo.forEach((f) => f());
}"""


def expect_fits_a_phone(page: Page) -> None:
    """No horizontal scroll at 360 px, and every visible control inside the viewport's width
    and clickable (nothing covers it)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: the page scrolls sideways ({width} px)"
    controls = page.locator(CONTROLS)
    for index in range(controls.count()):
        control = controls.nth(index)
        if not control.is_visible():
            continue
        box = control.bounding_box()
        assert box is not None
        if box["y"] + box["height"] <= 0:  # the skip link, parked above until focused
            continue
        name = control.evaluate("e => e.outerHTML.slice(0, 80)")
        assert box["x"] >= 0, name
        assert box["x"] + box["width"] <= PHONE["width"] + 0.5, name
        if control.is_enabled():
            control.click(trial=True, timeout=5_000)


def photograph(page: Page, shots: Path, name: str, labels: list[tuple[str, str]]) -> None:
    """`name`-desktop.png and `name`-phone.png of the page as it stands; at phone width the
    page must fit (expect_fits_a_phone). Tokens never show (and nothing that changes from run
    to run): the playground's token fields are masked."""
    viewport = page.viewport_size or DESKTOP
    mask = [
        page.locator(sel) for sel in ("#token-value", "#claims", "#refresh-tail", "#token-expires")
    ]
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        if label == "phone":
            expect_fits_a_phone(page)
        page.evaluate(_SWAP, labels)
        try:
            page.screenshot(
                path=shots / f"{name}-{label}.png",
                full_page=True,
                mask=mask,
                mask_color="#c9d1db",
                animations="disabled",
            )
        finally:
            page.evaluate("window.__undoSwap && window.__undoSwap()")
    page.set_viewport_size(viewport)


def expect_accessible(page: Page, state: str) -> None:
    for scheme in ("light", "dark"):
        # Reduced motion: the page's colour transitions end at once, so axe measures the
        # scheme's colours rather than a blend on the way to them.
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        violations = axe_violations(page)
        assert not violations, f"{state} ({scheme}): " + json.dumps(violations, indent=1)
    page.emulate_media(color_scheme="light")


def expect_focus_visible(page: Page) -> None:
    """The focused element shows a focus indicator: an outline at least 2 px wide."""
    style = page.evaluate(
        """() => {
          const e = document.activeElement;
          const s = getComputedStyle(e);
          return { tag: e.tagName, id: e.id, style: s.outlineStyle,
                   width: parseFloat(s.outlineWidth) || 0 };
        }"""
    )
    assert style["style"] != "none", style
    assert style["width"] >= 2, style


def tab_to(page: Page, selector: str, *, check_focus: bool = True, limit: int = 30) -> None:
    """Press Tab until `selector` has focus, checking the focus is visible at every stop."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if check_focus and page.evaluate("document.activeElement !== document.body"):
            expect_focus_visible(page)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def sign_in_at_ib_by_keyboard(popup: Page) -> None:
    popup.wait_for_load_state()
    # IB's page (the emulator's) focuses its user name field itself.
    if not popup.evaluate("document.activeElement.id === 'username'"):
        tab_to(popup, "#username", check_focus=False)
    popup.keyboard.type("demo")
    popup.keyboard.press("Tab")
    popup.keyboard.type("demo")
    popup.keyboard.press("Enter")


# ---- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("acme", "https://acme.intelligencebank.com"),
        ("acme.intelligencebank.com", "https://acme.intelligencebank.com"),
        ("https://acme.intelligencebank.com/", "https://acme.intelligencebank.com"),
        ("  acme.intelligencebank.com  ", "https://acme.intelligencebank.com"),
        (
            "https://ACME.intelligencebank.com/app/#/resources?q=1",
            "https://acme.intelligencebank.com",
        ),
    ],
)
def test_the_typed_address_shows_the_origin_it_means(
    desktop: Page, bridge: Bridge, typed: str, origin: str, browser_errors: BrowserErrors
) -> None:
    page = desktop
    page.goto(authorize_url(bridge))
    page.get_by_label("Your IntelligenceBank address").fill(typed)
    preview = page.locator("#platform_url-preview")
    expect(preview).to_be_visible()
    expect(preview).to_have_text(f"We'll sign you in at {origin}")
    browser_errors.assert_none(bridge.url)


def test_address_states_preview_and_refusal(
    desktop: Page,
    bridge: Bridge,
    emulator: Emulator,
    shots: Path,
    browser_errors: BrowserErrors,
) -> None:
    page = desktop
    labels = fixed_labels(bridge, emulator)
    page.goto(authorize_url(bridge))
    address = page.get_by_label("Your IntelligenceBank address")
    expect(address).to_have_value(emulator.platform_url)  # dev mode's prefill
    expect(page.locator("#platform_url-preview")).to_have_text(
        f"We'll sign you in at {emulator.platform_url}"
    )
    expect_accessible(page, "login page")
    photograph(page, shots, "login-start", labels)

    address.fill("acme")
    expect(page.locator("#platform_url-preview")).to_contain_text(
        "https://acme.intelligencebank.com"
    )
    photograph(page, shots, "login-preview", labels)

    # Something that is no IB address: no preview, and the refusal says what is expected.
    address.fill("http://example.com/some/page")
    expect(page.locator("#platform_url-preview")).to_be_hidden()
    page.locator("#continue").click()
    error = page.locator("#platform_url-error")
    expect(error).to_contain_text("for example https://company.intelligencebank.com")
    expect(address).to_be_focused()
    expect_accessible(page, "refused address")
    photograph(page, shots, "login-bad-address", labels)
    browser_errors.assert_none(bridge.url, ignore="/authorize/platform)")


def test_whole_sign_in_by_keyboard_then_the_platform_is_remembered(
    context: BrowserContext,
    desktop: Page,
    bridge: Bridge,
    emulator: Emulator,
    shots: Path,
    browser_errors: BrowserErrors,
) -> None:
    """Tab, Enter and Space only: from the playground's button, through the login page and
    IB's own page, to Continue and back. Focus is visible at every stop and moves to the
    message after each step; the live region says what changed. The second sign-in on this
    browser starts with the platform of the first (a cookie holding only its origin)."""
    page = desktop
    labels = fixed_labels(bridge, emulator)
    page.goto(f"{bridge.url}/")
    expect(page.locator("#signin")).to_be_enabled()
    expect_accessible(page, "playground")
    photograph(page, shots, "playground-start", labels)

    tab_to(page, "#signin")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/authorize\?"))
    status = page.locator("#status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")

    # The address typed the way people type it: spaces around, a path.
    tab_to(page, "#platform_url")
    page.keyboard.press("Control+A")
    page.keyboard.type(f" {emulator.platform_url}/app/#/home ")
    expect(page.locator("#platform_url-preview")).to_have_text(
        f"We'll sign you in at {emulator.platform_url}"
    )
    tab_to(page, "#continue")
    with page.expect_popup() as popup_info:
        page.keyboard.press("Space")
    popup = popup_info.value
    expect(status).to_contain_text("Waiting for you to sign in")
    expect(status).to_be_focused()  # focus moved to the message
    expect_focus_visible(page)
    # The field now holds the origin the bridge signs in at.
    expect(page.get_by_label("Your IntelligenceBank address")).to_have_value(emulator.platform_url)
    expect_accessible(page, "waiting")
    photograph(page, shots, "login-waiting", labels)

    sign_in_at_ib_by_keyboard(popup)

    expect(page.locator("#signed-in-step")).to_be_visible()
    expect(status).to_have_text(f"Signed in as {SIGNED_IN_AS}.")
    confirm = page.locator("#confirm-continue")
    expect(confirm).to_be_focused()
    expect_focus_visible(page)
    expect_accessible(page, "signed in")
    photograph(page, shots, "login-signed-in", labels)
    page.keyboard.press("Space")
    page.wait_for_url(f"{bridge.url}/**")
    expect(page.locator("#userinfo")).to_contain_text("Ada Lovelace")
    expect(page.locator("#resources tbody tr").first).to_be_visible()
    expect_accessible(page, "playground signed in")
    photograph(page, shots, "playground-signed-in", labels)

    # The remembered platform: a cookie with only the origin, for the sign-in pages only.
    remembered = [c for c in context.cookies() if c["name"] == "ib_bridge_platform"]
    assert len(remembered) == 1, remembered
    cookie = remembered[0]
    assert cookie["value"].strip('"') == emulator.platform_url
    assert cookie["path"] == "/authorize"
    assert cookie["sameSite"] == "Lax"
    assert cookie["httpOnly"]
    page.goto(authorize_url(bridge, state="second"))
    expect(page.get_by_label("Your IntelligenceBank address")).to_have_value(emulator.platform_url)
    assert "ib_bridge_platform" not in bridge.logs()
    browser_errors.assert_none(bridge.url)


def test_ib_down_says_so_and_try_again_works(
    desktop: Page,
    bridge: Bridge,
    emulator: Emulator,
    shots: Path,
    browser_errors: BrowserErrors,
) -> None:
    page = desktop
    page.goto(authorize_url(bridge))
    armed = emulator.control(
        "fail", {"status": 503, "times": 1, "path_contains": "/auth/app/token"}
    )
    assert armed.status_code == 200, armed.text
    page.locator("#continue").click()
    status = page.locator("#status")
    expect(status).to_contain_text("Couldn't reach the sign-in service")
    expect(status).to_be_focused()
    try_again = status.get_by_role("button", name="Try again")
    expect(try_again).to_be_visible()
    expect_accessible(page, "IB down")
    photograph(page, shots, "login-ib-down", fixed_labels(bridge, emulator))

    with page.expect_popup() as popup_info:
        try_again.click()
    expect(status).to_contain_text("Waiting for you to sign in")
    popup_info.value.close()
    # Chromium logs the 502 answer of the fetch itself; the page adds nothing.
    browser_errors.assert_none(bridge.url, ignore="/authorize/platform)")


@pytest.fixture(scope="module")
def impatient_bridge(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    """A bridge that waits 1 second for IB (IB_BRIDGE_UPSTREAM_TIMEOUT, the timeout of its
    client for IB's login API too), for an IB that does not answer at all."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("impatient")
    server = Bridge(
        port, data_dir, bridge_env(port, emulator, data_dir, IB_BRIDGE_UPSTREAM_TIMEOUT="1")
    )
    server.start()
    yield server
    server.stop()


def test_ib_not_answering_says_so_and_try_again_works(
    desktop: Page,
    impatient_bridge: Bridge,
    emulator: Emulator,
    browser_errors: BrowserErrors,
) -> None:
    """IB's login API stalls past the bridge's timeout: the bridge answers 504 and the page
    says it couldn't reach the sign-in service, with Try again; once IB answers again, Try
    again opens IB's sign-in page."""
    page = desktop
    bridge = impatient_bridge
    page.goto(authorize_url(bridge))
    stalled = emulator.control("config", {"login_latency_ms": 3000})
    assert stalled.status_code == 200, stalled.text
    try:
        with page.expect_response(lambda r: r.url.endswith("/authorize/platform")) as answer:
            page.locator("#continue").click()
        assert answer.value.status == 504
        status = page.locator("#status")
        expect(status).to_contain_text("Couldn't reach the sign-in service")
        expect(status).to_be_focused()
        try_again = status.get_by_role("button", name="Try again")
        expect(try_again).to_be_visible()
    finally:
        emulator.control("config", {"login_latency_ms": 0})
    with page.expect_popup() as popup_info:
        try_again.click()
    expect(status).to_contain_text("Waiting for you to sign in")
    popup_info.value.close()
    # Chromium logs the 504 answer of the fetch itself; the page adds nothing.
    browser_errors.assert_none(bridge.url, ignore="/authorize/platform)")


@pytest.fixture(scope="module")
def short_lived_bridge(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    """A bridge whose login transactions live 5 seconds: long enough to open the page and
    start signing in, short enough to watch one expire."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("short-lived")
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir, IB_BRIDGE_LOGIN_TTL="5"))
    server.start()
    yield server
    server.stop()


def test_expiry_while_waiting_offers_to_start_again(
    desktop: Page,
    short_lived_bridge: Bridge,
    emulator: Emulator,
    shots: Path,
    browser_errors: BrowserErrors,
) -> None:
    """The sign-in request runs out while the person is still at IB's page: a clear message and
    Start again, which asks for the app's very same authorization request again (the same
    client, redirect URI, PKCE challenge and state), so the app still accepts the answer."""
    page = desktop
    bridge = short_lived_bridge
    url = authorize_url(bridge, state="expiring")
    page.goto(url)
    with page.expect_popup() as popup_info:
        page.locator("#continue").click()
    popup_info.value.close()  # the person wanders off
    status = page.locator("#status")
    expect(status).to_contain_text("expired", timeout=30_000)
    expect(status).to_be_focused()
    restart = status.get_by_role("button", name="Start again")
    expect(restart).to_be_visible()
    expect_accessible(page, "expired")
    photograph(page, shots, "login-expired", fixed_labels(bridge, emulator))

    page.keyboard.press("Tab")
    expect(restart).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == url, "Start again asks for the same authorization request"
    expect(page.locator("#status")).to_be_empty()
    expect(page.locator("#platform-form")).to_be_visible()
    # The new sign-in works: its transaction is fresh.
    with page.expect_popup() as popup_info:
        page.locator("#continue").click()
    expect(page.locator("#status")).to_contain_text("Waiting for you to sign in")
    popup_info.value.close()
    # The status check that found the request gone answers 403/410: Chromium logs that itself.
    browser_errors.assert_none(bridge.url, ignore="/authorize/status)")


def test_without_javascript_an_expired_sign_in_offers_to_start_again(
    chromium: Browser, short_lived_bridge: Bridge, emulator: Emulator
) -> None:
    """The no-JS path: the sign-in request runs out while the person is at IB's page; choosing
    "I've signed in — continue" then shows that it has ended and a plain "Start again" link to
    the app's very same authorization request, which opens a fresh sign-in."""
    bridge = short_lived_bridge
    url = authorize_url(bridge, state="expiring-no-js", platform_url=emulator.platform_url)
    context = chromium.new_context(java_script_enabled=False)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(url)
        page.locator("#continue").click()
        expect(page.locator("#login-link")).to_be_visible()
        # The person wanders off; the 5-second sign-in request runs out on the bridge's clock
        # (a real process): try Continue until the bridge answers that it has expired.
        deadline = time.monotonic() + 30
        while True:
            page.get_by_role("button", name="I've signed in — continue").click()
            page.wait_for_load_state()
            if page.locator("#error-page").count() or time.monotonic() > deadline:
                break
            page.wait_for_timeout(500)
        # Expired (410), or its cookie, which lives as long, already gone (403): either way the
        # page says to start again.
        expect(page.get_by_role("alert")).to_contain_text(re.compile("start again", re.I))
        restart = page.get_by_role("link", name="Start again")
        expect(restart).to_be_visible()
        restart.click()
        page.wait_for_load_state()
        assert page.url == url, "Start again asks for the same authorization request"
        expect(page.locator("#platform-form")).to_be_visible()
        # The new sign-in works: its transaction is fresh.
        page.locator("#continue").click()
        expect(page.locator("#login-link")).to_be_visible()
    finally:
        context.close()


def test_error_page(
    desktop: Page, bridge: Bridge, emulator: Emulator, shots: Path, browser_errors: BrowserErrors
) -> None:
    page = desktop
    page.goto(authorize_url(bridge, client_id="no-such-client"))
    expect(page.locator("#error-page")).to_be_visible()
    expect_accessible(page, "error page")
    photograph(page, shots, "error-page", fixed_labels(bridge, emulator))
    browser_errors.assert_none(bridge.url, ignore="status of 400")
