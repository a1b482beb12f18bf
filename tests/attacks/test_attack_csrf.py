"""CSRF and Origin on the login page's form endpoints (/authorize/platform, /continue, /cancel):
a post from another site, or without this browser's CSRF token, or without this browser's
signed cookie, is refused with 403 `access_denied` (JSON to the page's script, the HTML error
page to a plain form post), and changes nothing: no call to IB, the transaction neither advanced
nor cancelled (the honest page's own post still works afterwards). A post with no Origin at all
comes from a non-browser client, which cannot hold a victim's HttpOnly cookie: the CSRF token
still binds it, and it is accepted with the right one; an opaque `Origin: null` is accepted only
when the browser vouches for the same origin (Sec-Fetch-Site)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
import pytest

from inprocess_flow import authorize_path, form_value, pkce_pair
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

ENDPOINTS = ["/authorize/platform", "/authorize/continue", "/authorize/cancel"]
ISSUER_ORIGIN = "http://127.0.0.1:8000"


@dataclass
class Forgery:
    """How the forged post differs from the page's own: its headers (None drops one), its CSRF
    token ("other" = another browser's, None = absent), its cookie ("other", "tampered",
    None = absent, "own")."""

    headers: dict[str, str | None] = field(default_factory=dict)
    csrf: str | None = "own"
    cookie: str | None = "own"


FORGERIES = {
    "cross-site-origin": Forgery({"Origin": "https://evil.example"}),
    "lookalike-origin": Forgery({"Origin": "http://127.0.0.1:8000.evil.example"}),
    "other-port-origin": Forgery({"Origin": "http://127.0.0.1:8001"}),
    "other-scheme-origin": Forgery({"Origin": "https://127.0.0.1:8000"}),
    "origin-with-path": Forgery({"Origin": "http://127.0.0.1:8000/"}),
    "uppercase-origin": Forgery({"Origin": "HTTP://127.0.0.1:8000"}),
    "null-origin": Forgery({"Origin": "null"}),
    "null-origin-cross-site": Forgery({"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
    "same-origin-but-fetch-cross-site": Forgery({"Sec-Fetch-Site": "cross-site"}),
    "same-origin-but-fetch-same-site": Forgery({"Sec-Fetch-Site": "same-site"}),
    "no-origin-cross-site-fetch": Forgery({"Origin": None, "Sec-Fetch-Site": "cross-site"}),
    "missing-csrf-token": Forgery(csrf=None),
    "empty-csrf-token": Forgery(csrf=""),
    "another-browsers-csrf-token": Forgery(csrf="other"),
    "csrf-token-truncated": Forgery(csrf="truncated"),
    "no-cookie": Forgery(cookie=None),
    "another-browsers-cookie": Forgery(cookie="other"),
    "tampered-cookie": Forgery(cookie="tampered"),
    "no-origin-and-no-csrf-token": Forgery({"Origin": None}, csrf=None),
}
# What a forgery without the cookie is told (there is no sign-in to bind the post to).
NO_SIGN_IN = "no sign-in in progress"


async def open_page(stack: Stack, browser: httpx.AsyncClient) -> tuple[str, str]:
    """Open /authorize: the page's CSRF token and the login cookie's value."""
    _, challenge = pkce_pair()
    page = await browser.get(authorize_path(challenge, "st"))
    assert page.status_code == 200, page.text
    cookie = next(iter(browser.cookies.values()))
    return form_value(page.text, "csrf_token"), cookie


def _form(stack: Stack, endpoint: str, csrf: str | None) -> dict[str, str]:
    form = {"platform_url": stack.emulator.platform_url} if endpoint.endswith("platform") else {}
    if csrf is not None:
        form["csrf_token"] = csrf
    # Never an empty body: that would be refused as such (415) before the CSRF check.
    return form or {"submit": "1"}


async def honest_post(
    stack: Stack, browser: httpx.AsyncClient, endpoint: str, csrf: str
) -> httpx.Response:
    return await browser.post(
        endpoint,
        data=_form(stack, endpoint, csrf),
        headers={"Accept": "application/json", "Origin": ISSUER_ORIGIN},
    )


@pytest.mark.parametrize("accept", ["json", "html"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_login_post_is_refused_and_changes_nothing(
    stack: Stack, forgery: Forgery, endpoint: str, accept: str
) -> None:
    async with stack.browser() as victim, stack.browser() as other:
        csrf, cookie = await open_page(stack, victim)
        other_csrf, other_cookie = await open_page(stack, other)
        token = {
            "own": csrf, "other": other_csrf, "truncated": csrf[:-4], None: None, "": ""
        }[forgery.csrf]
        cookie_value = {
            "own": cookie,
            "other": other_cookie,
            "tampered": cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB"),
            None: None,
        }[forgery.cookie]
        headers = {"Origin": ISSUER_ORIGIN}
        if accept == "json":
            headers["Accept"] = "application/json"
        for name, value in forgery.headers.items():
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
        cookies = {stack.bridge.login_cookie.name: cookie_value} if cookie_value else {}
        async with httpx.AsyncClient(
            transport=stack.http._transport, base_url=stack.settings.issuer, cookies=cookies
        ) as attacker:
            forged = await attacker.post(endpoint, data=_form(stack, endpoint, token),
                                         headers=headers)
        ib_calls = list(stack.ib_calls)

        assert forged.status_code == 403, forged.text
        assert "location" not in forged.headers
        if accept == "json":
            assert forged.json()["error"] == "access_denied"
        else:
            assert forged.headers["content-type"].startswith("text/html")
        if forgery.cookie is None:
            assert NO_SIGN_IN in forged.text
        assert "set-cookie" not in forged.headers
        assert not any(path.startswith("/v1/auth/app/token") for path in ib_calls)

        # Nothing changed: the victim's own page can still submit the platform.
        honest = await honest_post(stack, victim, "/authorize/platform", csrf)
        assert honest.status_code == 200, honest.text
        assert honest.json()["status"] == "pending"


ACCEPTED = {
    "no-origin-non-browser-with-token": {},
    "null-origin-vouched-same-origin": {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    "exact-origin": {"Origin": ISSUER_ORIGIN},
    "exact-origin-same-origin-fetch": {"Origin": ISSUER_ORIGIN, "Sec-Fetch-Site": "same-origin"},
}


@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
async def test_the_pages_own_post_is_accepted(stack: Stack, headers: dict[str, str]) -> None:
    async with stack.browser() as browser:
        csrf, _ = await open_page(stack, browser)
        answer = await browser.post(
            "/authorize/platform",
            data=_form(stack, "/authorize/platform", csrf),
            headers={"Accept": "application/json", **headers},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending"


async def test_the_status_poll_is_not_readable_cross_site(stack: Stack) -> None:
    """The one GET of the login page: it needs the cookie, and it answers no CORS request."""
    async with stack.browser() as browser:
        await open_page(stack, browser)
        answer = await browser.get(
            "/authorize/status", headers={"Origin": "https://evil.example"}
        )
    assert answer.status_code == 200, answer.text
    assert not any(name.lower().startswith("access-control-") for name in answer.headers)


async def test_the_login_cookie_is_httponly_and_samesite(stack: Stack) -> None:
    async with stack.browser() as browser:
        _, challenge = pkce_pair()
        page = await browser.get(authorize_path(challenge, "st"))
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=(lax|strict)", cookie, re.IGNORECASE)
