"""The last platform URL, remembered for this browser's next sign-in: a cookie holding only
the origin, set once IB's login has started there, checked again before it prefills the page."""

from __future__ import annotations

import httpx
import pytest

from ib_oauth_bridge.devib import EmulatorConfig
from inprocess_flow import authorize_path, form_value, pkce_pair
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

COOKIE = "ib_bridge_platform"
EMULATOR = EmulatorConfig()
PLATFORM = EMULATOR.platform_url  # where IB's login runs
OTHER = EMULATOR.api_v3_url  # an allowed origin too, and the page's dev default here


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The dev default prefill is not the platform, so that a prefilled platform can only
    have come from the remembered one."""
    return {"dev_ib_urls": (OTHER, PLATFORM)}


def authorize_url(**extra: str) -> str:
    _, challenge = pkce_pair()
    return authorize_path(challenge=challenge, state="st", **extra)


async def submit(
    stack: Stack, browser: httpx.AsyncClient, platform_url: str, *, json: bool = True
) -> httpx.Response:
    page = await browser.get(authorize_url())
    assert page.status_code == 200, page.text
    headers = {"Origin": stack.settings.issuer}
    if json:
        headers["Accept"] = "application/json"
    return await browser.post(
        "/authorize/platform",
        data={"platform_url": platform_url, "csrf_token": form_value(page.text, "csrf_token")},
        headers=headers,
    )


def set_cookie(answer: httpx.Response) -> str:
    cookies = [
        value
        for value in answer.headers.get_list("set-cookie")
        if value.startswith(f"{COOKIE}=")
    ]
    assert len(cookies) == 1, cookies
    return cookies[0]


async def test_a_started_login_remembers_the_origin_for_the_next_sign_in(stack: Stack) -> None:
    other = PLATFORM
    async with stack.browser() as browser:
        assert form_value((await browser.get(authorize_url())).text, "platform_url") == OTHER
        started = await submit(stack, browser, f"  {other}/some/path?q=1  ")
        assert started.status_code == 200, started.text
        assert started.json()["platform_url"] == other
        cookie = set_cookie(started)
        assert cookie.startswith(f'{COOKIE}="{other}"') or cookie.startswith(f"{COOKIE}={other}")
        assert "Path=/authorize" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "httponly" in cookie.lower()
        assert "secure" not in cookie.lower()  # http in dev mode; Secure follows the issuer

        again = await browser.get(authorize_url())
        assert form_value(again.text, "platform_url") == other


async def test_the_no_js_answer_shows_the_origin_and_remembers_it(stack: Stack) -> None:
    other = PLATFORM
    async with stack.browser() as browser:
        answer = await submit(stack, browser, f"{other}/", json=False)
        assert answer.status_code == 200, answer.text
        assert f"We&#39;ll sign you in at {other}" in answer.text
        assert form_value(answer.text, "platform_url") == other
        assert set_cookie(answer)


async def test_a_refused_address_is_not_remembered(stack: Stack) -> None:
    async with stack.browser() as browser:
        refused = await submit(stack, browser, "https://evil.example")
        assert refused.status_code == 400
        assert "https://company.intelligencebank.com" in refused.json()["error_description"]
        assert COOKIE not in refused.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "planted",
    [
        "https://evil.example",
        "https://acme.intelligencebank.com.evil.example",
        '"><script>alert(1)</script>',
        "http://127.0.0.1:9",
    ],
)
async def test_a_planted_cookie_prefills_nothing_the_bridge_refuses(
    stack: Stack, planted: str
) -> None:
    async with stack.browser() as browser:
        browser.cookies.set(COOKIE, planted, path="/authorize")
        page = await browser.get(authorize_url())
        assert page.status_code == 200
        # The page's own default (dev mode: the emulator), not the planted value.
        assert form_value(page.text, "platform_url") == OTHER
        assert "evil.example" not in page.text
        assert "<script>alert" not in page.text


async def test_the_apps_hint_beats_the_remembered_platform(stack: Stack) -> None:
    async with stack.browser() as browser:
        browser.cookies.set(COOKIE, PLATFORM, path="/authorize")
        assert form_value((await browser.get(authorize_url())).text, "platform_url") == PLATFORM
        page = await browser.get(authorize_url(platform_url="https://acme.intelligencebank.com"))
        assert form_value(page.text, "platform_url") == "https://acme.intelligencebank.com"
