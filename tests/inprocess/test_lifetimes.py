"""Every lifetime of the flow, by moving the clock: codes, access tokens, idle grants, IB's
login token, and the login transaction itself."""

from __future__ import annotations

from typing import Any

import pytest

from inprocess_flow import (
    authorize,
    exchange,
    pkce_pair,
    poll,
    refresh,
    sign_in_at_ib,
    start_login,
    tokens,
)
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "code_ttl": 60,
        "access_token_ttl": 600,
        "refresh_idle_timeout": 3600,
        "ib_login_token_ttl": 300,
        "login_ttl": 900,
    }


async def test_a_code_expires(stack: Stack) -> None:
    authorized = await authorize(stack)
    stack.clock.advance(61)
    answer = await exchange(stack, authorized)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_a_code_just_inside_its_lifetime_works(stack: Stack) -> None:
    authorized = await authorize(stack)
    stack.clock.advance(59)
    assert (await exchange(stack, authorized)).status_code == 200


async def test_an_access_token_expires(stack: Stack) -> None:
    token = await tokens(stack)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert token["expires_in"] == 600
    assert (await stack.http.get("/userinfo", headers=bearer)).status_code == 200
    stack.clock.advance(600 + 6)  # past the verifier's leeway of 5 s
    answer = await stack.http.get("/userinfo", headers=bearer)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


async def test_an_idle_grant_ends(stack: Stack) -> None:
    token = await tokens(stack)
    stack.clock.advance(3601)
    answer = await refresh(stack, token["refresh_token"])
    assert answer.json()["error"] == "invalid_grant"


async def test_a_used_grant_stays_alive(stack: Stack) -> None:
    token = await tokens(stack)
    for _ in range(3):
        stack.clock.advance(3000)
        answer = await refresh(stack, token["refresh_token"])
        assert answer.status_code == 200, answer.text
        token = answer.json()


async def test_ib_login_token_expiry_ends_the_wait(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        await start_login(stack, browser, challenge=challenge, state="s")
        assert (await poll(stack, browser))["status"] == "pending"
        stack.clock.advance(300)
        status = await poll(stack, browser)
    assert status["status"] == "expired"
    assert "expired" in status["message"]


async def test_a_login_transaction_expires(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="s")
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(901)
        answer = await browser.get("/authorize/status")
    assert answer.status_code == 410
    assert answer.json()["error"] == "login_expired"
