"""The login flow's state machine over HTTP, in-process: the happy path, and completion
exactly once however many polls race."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest

from inprocess_flow import (
    LOOPBACK_REDIRECT,
    Authorized,
    authorize_path,
    exchange,
    form_value,
    pkce_pair,
    poll,
    sign_in_at_ib,
    start_login,
)
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio


async def test_the_flow_ends_at_the_redirect_with_code_state_and_iss(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="st-1")
        assert (await poll(stack, browser))["status"] == "pending"
        await sign_in_at_ib(stack, login_url)
        status = await poll(stack, browser)
    assert status["status"] == "done"
    redirect = urlsplit(status["redirect_to"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == LOOPBACK_REDIRECT
    query = parse_qs(redirect.query)
    assert query["state"] == ["st-1"]
    assert query["iss"] == [ISSUER]
    assert len(query["code"][0]) > 20


async def test_polls_closer_than_the_interval_ask_ib_once(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        await start_login(stack, browser, challenge=challenge, state="s")
        stack.clock.advance(stack.settings.ib_poll_interval)
        before = stack.ib_calls.count("/v1/auth/app/info")
        answers = await asyncio.gather(*(browser.get("/authorize/status") for _ in range(5)))
        after = stack.ib_calls.count("/v1/auth/app/info")
    assert [a.json()["status"] for a in answers] == ["pending"] * 5
    assert after - before == 1


async def test_a_login_completes_exactly_once_under_racing_polls(stack: Stack) -> None:
    verifier, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="s")
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(stack.settings.ib_poll_interval)
        answers = await asyncio.gather(*(browser.get("/authorize/status") for _ in range(8)))
        # Later polls (after the interval) still give the same redirect, not a second code.
        answers.append(await browser.get("/authorize/status"))
        answers.append(await browser.get("/authorize/status"))
    redirects = {a.json().get("redirect_to") for a in answers if a.json()["status"] == "done"}
    assert len(redirects) == 1
    (redirect_to,) = redirects
    code = parse_qs(urlsplit(redirect_to).query)["code"][0]
    first = await exchange(stack, Authorized(code, "s", ISSUER, verifier))
    assert first.status_code == 200, first.text
    assert stack.count("grants") == 1  # one grant made, none left behind by a losing poll
    assert stack.ib_calls.count("/v1/auth/app/info") == 1


async def test_cancel_sends_the_browser_back_with_access_denied(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(authorize_path(challenge=challenge, state="st-2"))
        answer = await browser.post(
            "/authorize/cancel",
            data={"csrf_token": form_value(page.text, "csrf_token")},
            headers={"Origin": ISSUER},
        )
        assert answer.status_code == 303
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query == {
            "error": ["access_denied"],
            "error_description": ["The user cancelled the sign-in."],
            "state": ["st-2"],
            "iss": [ISSUER],
        }
        # The transaction is gone: the page's status call now says so.
        again = await browser.get("/authorize/status")
    assert again.status_code in {403, 410}
