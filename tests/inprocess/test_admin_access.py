"""The admin page's access rules (handlers/admin.py): off without IB_BRIDGE_ADMINS, an OpenID
sign-in through the bridge itself, only listed operators let in, and a revoke that needs the
session, its CSRF token and a same-origin request, and really ends the grant."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from starlette.responses import Response

from ib_oauth_bridge.handlers.admin import _verified_identity
from ib_oauth_bridge.oauth.keys import generate_signing_key
from ib_oauth_bridge.web.admin_session import AdminCookies, AdminSession
from inprocess_flow import form_value, sign_in_at_ib, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"admins": ("u-demo",)}


async def admin_sign_in(stack: Stack, browser: httpx.AsyncClient, username: str) -> httpx.Response:
    """GET /admin, sign in on the bridge's own page as `username`; the callback's answer."""
    start = await browser.get("/admin")
    assert start.status_code == 303, start.text
    page = await browser.get(start.headers["location"])
    assert page.status_code == 200, page.text
    started = await browser.post(
        "/authorize/platform",
        data={
            "platform_url": stack.emulator.platform_url,
            "csrf_token": form_value(page.text, "csrf_token"),
        },
        headers={"Accept": "application/json", "Origin": stack.settings.issuer},
    )
    assert started.status_code == 200, started.text
    await sign_in_at_ib(stack, started.json()["login_url"], username=username)
    stack.clock.advance(stack.settings.ib_poll_interval)
    status = (await browser.get("/authorize/status")).json()
    assert status["status"] == "done", status
    return await browser.get(status["redirect_to"], headers={"Accept": "text/html"})


async def signed_in_admin(stack: Stack) -> httpx.AsyncClient:
    browser = stack.browser()
    answer = await admin_sign_in(stack, browser, "demo")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin"
    return browser


def csrf_of(html: str) -> str:
    return form_value(html, "csrf_token")


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_off_without_admins(stack: Stack) -> None:
    for method, path in (("GET", "/admin"), ("GET", "/admin/callback"), ("POST", "/admin/revoke")):
        answer = await stack.http.request(method, path)
        assert answer.status_code == 404, (path, answer.text)
    # ... and no admin client exists to sign in with.
    answer = await stack.http.get(
        "/authorize?response_type=code&client_id=ib-bridge-admin&state=s"
        "&redirect_uri=http%3A%2F%2Fx%2Fadmin%2Fcallback&code_challenge="
        + "a" * 43
        + "&code_challenge_method=S256"
    )
    assert answer.status_code == 400


async def test_no_session_redirects_to_authorize_with_pkce_state_nonce(stack: Stack) -> None:
    answer = await stack.http.get("/admin")
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == "ib-bridge-admin"
    assert query["redirect_uri"] == f"{stack.settings.issuer}/admin/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"]
    assert query["nonce"]
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower()


async def test_admin_signs_in_sees_grants_and_own_grant_is_ended(stack: Stack) -> None:
    before = await tokens(stack)
    browser = await signed_in_admin(stack)
    session_cookie = next(
        c for c in browser.cookies.jar if c.name == stack.bridge.admin_cookies.session_name
    )
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    page = await browser.get("/admin")
    assert page.status_code == 200, page.text
    assert "Content-Security-Policy" in page.headers
    grant_ids = re.findall(r'data-grant-id="([^"]+)"', page.text)
    assert len(grant_ids) == 1  # the earlier sign-in; the admin's own grant already ended
    assert "admin.signed_in" in page.text
    assert before["access_token"] not in page.text
    assert "<caption>" in page.text
    assert 'scope="col"' in page.text
    await browser.aclose()


async def test_non_admin_is_refused_and_audited(stack: Stack) -> None:
    async with stack.browser() as browser:
        answer = await admin_sign_in(stack, browser, "grace")
        assert answer.status_code == 403
        assert "Not an administrator" in answer.text
        assert not any(
            c.name == stack.bridge.admin_cookies.session_name for c in browser.cookies.jar
        )
        again = await browser.get("/admin")
        assert again.status_code == 303
    events = [e.event.value for e in stack.bridge.audit.recent]
    assert "admin.refused" in events
    assert "admin.signed_in" not in events


@pytest.mark.parametrize("settings_overrides", [{"admins": ("grace@example.com",)}])
async def test_email_in_admins_lets_that_user_in(stack: Stack) -> None:
    async with stack.browser() as browser:
        assert (await admin_sign_in(stack, browser, "grace")).status_code == 303
        assert (await browser.get("/admin")).status_code == 200


async def test_forged_or_expired_session_cookie_starts_sign_in(stack: Stack) -> None:
    browser = await signed_in_admin(stack)
    name = stack.bridge.admin_cookies.session_name
    value = browser.cookies.get(name)
    assert value
    async with stack.browser() as forger:
        forger.cookies.set(name, value[:-3] + "AAA", path="/admin")
        assert (await forger.get("/admin")).status_code == 303
        # A cookie signed by another key (a forged session naming an admin).
        other = AdminCookies("another secret", secure=False)
        fake = Response()
        other.set_session(fake, AdminSession("u-demo", None, "x"), stack.clock())
        forged = fake.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        forger.cookies.set(name, forged, path="/admin")
        assert (await forger.get("/admin")).status_code == 303
    assert (await browser.get("/admin")).status_code == 200
    stack.clock.advance(31 * 60)
    assert (await browser.get("/admin")).status_code == 303
    await browser.aclose()


async def test_callback_without_pending_sign_in_or_with_wrong_state_starts_again(
    stack: Stack,
) -> None:
    answer = await stack.http.get("/admin/callback?code=x&state=y&iss=" + stack.settings.issuer)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/authorize?")
    async with stack.browser() as browser:
        await browser.get("/admin")  # a pending sign-in with its own state
        answer = await browser.get("/admin/callback?code=x&state=wrong")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/authorize?")


async def revoke_form(browser: httpx.AsyncClient) -> tuple[str, str]:
    page = await browser.get("/admin")
    grant_id = re.findall(r'data-grant-id="([^"]+)"', page.text)[0]
    return grant_id, csrf_of(page.text)


async def test_revoke_ends_the_grant_at_the_proxy_and_is_audited(stack: Stack) -> None:
    user_tokens = await tokens(stack)
    bearer = {"Authorization": f"Bearer {user_tokens['access_token']}"}
    assert (await stack.http.get("/proxy/api/3.0.0/users/me", headers=bearer)).status_code != 401
    browser = await signed_in_admin(stack)
    grant_id, csrf = await revoke_form(browser)
    answer = await browser.post(
        "/admin/revoke",
        data={"grant_id": grant_id, "csrf_token": csrf},
        headers={"Origin": stack.settings.issuer},
    )
    assert answer.status_code == 303, answer.text
    page = await browser.get("/admin")
    assert grant_id not in page.text.split("Recent audit events")[0]
    assert (await stack.http.get("/proxy/api/3.0.0/users/me", headers=bearer)).status_code == 401
    ended = [e for e in stack.bridge.audit.recent if e.event.value == "grant.ended"]
    assert any(
        e.grant_id == grant_id and e.reason == "admin" and e.actor == "u-demo" for e in ended
    )
    await browser.aclose()


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [(None, "same"), ("wrong", "same"), ("good", "https://evil.example")],
    ids=["csrf-missing", "csrf-wrong", "foreign-origin"],
)
async def test_revoke_refused_without_csrf_or_from_another_site(
    stack: Stack, csrf: str | None, origin: str
) -> None:
    await tokens(stack)
    browser = await signed_in_admin(stack)
    grant_id, good = await revoke_form(browser)
    data = {"grant_id": grant_id}
    if csrf is not None:
        data["csrf_token"] = good if csrf == "good" else csrf
    answer = await browser.post(
        "/admin/revoke",
        data=data,
        headers={"Origin": stack.settings.issuer if origin == "same" else origin},
    )
    assert answer.status_code == 403
    assert grant_id in (await browser.get("/admin")).text
    await browser.aclose()


async def test_revoke_without_session_is_refused(stack: Stack) -> None:
    await tokens(stack)
    browser = await signed_in_admin(stack)
    grant_id, csrf = await revoke_form(browser)
    async with stack.browser() as stranger:
        answer = await stranger.post(
            "/admin/revoke",
            data={"grant_id": grant_id, "csrf_token": csrf},
            headers={"Origin": stack.settings.issuer},
        )
        assert answer.status_code == 403
    await browser.aclose()


async def test_csrf_token_of_another_admin_session_is_refused(stack: Stack) -> None:
    await tokens(stack)
    first = await signed_in_admin(stack)
    second = await signed_in_admin(stack)
    grant_id, csrf_first = await revoke_form(first)
    answer = await second.post(
        "/admin/revoke",
        data={"grant_id": grant_id, "csrf_token": csrf_first},
        headers={"Origin": stack.settings.issuer},
    )
    assert answer.status_code == 403
    await first.aclose()
    await second.aclose()


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": "another"},
        {"aud": "mcp-public-client"},
        {"iss": "https://evil.example"},
        {"exp": -1},
        {"sub": ""},
    ],
    ids=["nonce", "aud", "iss", "exp", "sub"],
)
async def test_id_token_checks(stack: Stack, change: dict[str, Any]) -> None:
    now = int(stack.clock())
    claims: dict[str, Any] = {
        "iss": stack.settings.issuer,
        "aud": "ib-bridge-admin",
        "sub": "u-demo",
        "nonce": "the-nonce",
        "iat": now,
        "exp": now + 300,
    }
    key = stack.bridge.keys.current
    header = {"alg": "ES256", "kid": key.kid}
    good = jwt.encode(header, claims, key)
    assert _verified_identity(stack.bridge, good, "the-nonce") == ("u-demo", None)
    changed = claims | {k: (now - 1 if k == "exp" else v) for k, v in change.items()}
    assert _verified_identity(stack.bridge, jwt.encode(header, changed, key), "the-nonce") is None


async def test_id_token_signed_by_another_key_is_refused(stack: Stack) -> None:
    other = generate_signing_key()
    now = int(stack.clock())
    claims = {
        "iss": stack.settings.issuer,
        "aud": "ib-bridge-admin",
        "sub": "u-demo",
        "nonce": "n",
        "exp": now + 300,
    }
    token = jwt.encode({"alg": "ES256", "kid": stack.bridge.keys.current.kid}, claims, other)
    assert _verified_identity(stack.bridge, token, "n") is None
