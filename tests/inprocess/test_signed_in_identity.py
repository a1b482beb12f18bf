"""The signed-in step of the login page: once IB reports the login, the page says who signed in
and waits for the person ("Continue to <app>" or "Not you? Cancel") instead of returning to
the app on its own. Who signed in is kept sealed; Continue returns with a code that is still
valid; "Not you" ends the grant the login made."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ib_oauth_bridge.devib.config import DemoUser, EmulatorConfig
from ib_oauth_bridge.oauth.login_flow import SignedIn
from ib_oauth_bridge.store.crypto import seal_text, unseal_text
from inprocess_flow import (
    LOOPBACK_REDIRECT,
    Authorized,
    authorize_path,
    exchange,
    form_value,
    pkce_pair,
    poll,
    refresh,
    sign_in_at_ib,
)
from inprocess_stack import ISSUER, Stack, open_stack

pytestmark = pytest.mark.anyio

ORIGIN = {"Origin": ISSUER}


@contextlib.asynccontextmanager
async def signed_in(
    stack: Stack, *, state: str = "st", username: str = "demo", **extra: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str, str, dict[str, object]]]:
    """A browser whose login IB has reported (one poll): the browser, the PKCE verifier, the
    page's CSRF token and the status answer."""
    verifier, challenge = pkce_pair()
    async with stack.browser() as browser:
        csrf, login_url = await open_and_start(stack, browser, challenge, state, **extra)
        await sign_in_at_ib(stack, login_url, username)
        status: dict[str, object] = dict(await poll(stack, browser))
        assert status["status"] == "done", status
        yield browser, verifier, csrf, status


async def open_and_start(
    stack: Stack, browser: httpx.AsyncClient, challenge: str, state: str, **extra: str
) -> tuple[str, str]:
    """Open the page and submit the platform, as the page's script does: its CSRF token and
    IB's sign-in URL."""
    page = await browser.get(authorize_path(challenge=challenge, state=state, **extra))
    csrf = form_value(page.text, "csrf_token")
    started = await browser.post(
        "/authorize/platform",
        data={"platform_url": stack.emulator.platform_url, "csrf_token": csrf},
        headers={"Accept": "application/json", **ORIGIN},
    )
    assert started.status_code == 200, started.text
    return csrf, str(started.json()["login_url"])


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


async def confirm(browser: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await browser.post(
        "/authorize/continue", data={"csrf_token": csrf, "confirm": "1"}, headers=ORIGIN
    )


# The status answer ---------------------------------------------------------------------------


async def test_status_names_who_signed_in_and_keeps_redirect_to(stack: Stack) -> None:
    async with signed_in(stack) as (_, verifier, _, status):
        pass
    assert status["signed_in_as"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    # Scripted clients still follow `redirect_to`, unchanged.
    location = str(status["redirect_to"])
    assert location.startswith(LOOPBACK_REDIRECT + "?")
    answer = await exchange(stack, Authorized(code_of(location), "st", ISSUER, verifier))
    assert answer.status_code == 200, answer.text


async def test_status_takes_the_email_from_either_spelling(stack: Stack) -> None:
    async with signed_in(stack, username="grace") as (*_, status):
        pass
    assert status["signed_in_as"] == {"name": "Grace Hopper", "email": "grace@example.com"}


async def test_the_name_ib_gave_is_cleaned_and_escaped(tmp_path: Path) -> None:
    hostile = DemoUser(
        "eve", "eve", "<script>alert(1)</script>\u202e", "Eve", "eve@example.com", "u-eve"
    )
    async with (
        open_stack(tmp_path, EmulatorConfig(users=[hostile])) as stack,
        signed_in(stack, username="eve") as (browser, _, csrf, status),
    ):
        page = await browser.post("/authorize/continue", data={"csrf_token": csrf}, headers=ORIGIN)
    who = status["signed_in_as"]
    assert isinstance(who, dict)
    assert who["name"] == "<script>alert(1)</script> Eve"  # the bidi override is gone
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve (eve@example.com)" in page.text


# Sealed storage --------------------------------------------------------------------------------


async def test_who_signed_in_is_sealed_in_the_store_and_never_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ib_oauth_bridge")
    async with signed_in(stack) as (browser, _, csrf, status):
        # The transaction row: every column, as the file holds it.
        with contextlib.closing(sqlite3.connect(stack.store.path)) as db:
            rows = db.execute("SELECT * FROM transactions").fetchall()
        assert await confirm(browser, csrf)
    assert len(rows) == 1
    row = " ".join(str(value) for value in rows[0])
    location = str(status["redirect_to"])
    for secret in ("Lovelace", "ada@example.com", code_of(location)):
        assert secret not in row
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "login completed" in logged
    for secret in ("Lovelace", "ada@example.com", code_of(location)):
        assert secret not in logged


async def test_a_transaction_sealed_as_a_bare_location_still_reads(stack: Stack) -> None:
    """A DONE transaction written by the bridge before the identity was kept."""
    cipher = stack.bridge.login.cipher
    location = f"{LOOPBACK_REDIRECT}?code=abc&state=s&iss=x"
    signed = SignedIn.from_text(
        unseal_text(cipher, seal_text(cipher, location, context="t-1"), context="t-1")
    )
    assert signed == SignedIn(location=location)
    assert signed.identity() == {"name": None, "email": None}


# Continue --------------------------------------------------------------------------------------


async def test_continue_returns_with_the_code_while_it_is_valid(stack: Stack) -> None:
    async with signed_in(stack) as (browser, verifier, csrf, status):
        answer = await confirm(browser, csrf)
    assert answer.status_code == 303
    assert answer.headers["location"] == status["redirect_to"]
    assert "set-cookie" in answer.headers  # the login cookie is cleared
    code = code_of(answer.headers["location"])
    assert (await exchange(stack, Authorized(code, "st", ISSUER, verifier))).status_code == 200


async def test_continue_after_the_code_expired_mints_a_fresh_one(stack: Stack) -> None:
    async with signed_in(stack, scope="openid profile", nonce="n-1") as (
        browser,
        verifier,
        csrf,
        status,
    ):
        stale = code_of(str(status["redirect_to"]))
        stack.clock.advance(stack.settings.code_ttl + 1)  # the person took their time
        answer = await confirm(browser, csrf)
    assert answer.status_code == 303
    location = answer.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st"]
    assert query["iss"] == [ISSUER]
    fresh = query["code"][0]
    assert fresh != stale
    assert stack.count("grants") == 1  # the same grant
    old = await exchange(stack, Authorized(stale, "st", ISSUER, verifier))
    assert old.status_code == 400
    new = await exchange(stack, Authorized(fresh, "st", ISSUER, verifier))
    assert new.status_code == 200, new.text
    assert "id_token" in new.json()  # the OpenID nonce carried into the fresh code


async def test_continue_mints_at_most_one_code_per_press(stack: Stack) -> None:
    async with signed_in(stack) as (browser, _, csrf, _):
        stack.clock.advance(stack.settings.code_ttl + 1)
        before = stack.count("codes")
        first = await confirm(browser, csrf)
    assert first.status_code == 303
    assert stack.count("codes") == before + 1


async def test_continue_never_replaces_a_code_the_client_exchanged(stack: Stack) -> None:
    async with signed_in(stack) as (browser, verifier, csrf, status):
        location = str(status["redirect_to"])
        used = await exchange(stack, Authorized(code_of(location), "st", ISSUER, verifier))
        assert used.status_code == 200
        stack.clock.advance(stack.settings.code_ttl + 1)
        codes = stack.count("codes")
        answer = await confirm(browser, csrf)
    assert answer.status_code == 303
    assert answer.headers["location"] == location  # as it was: no second code for the grant
    assert stack.count("codes") == codes
    # The tokens from the exchange still work.
    assert (await refresh(stack, used.json()["refresh_token"])).status_code == 200


async def test_a_code_replaced_by_continue_cannot_be_exchanged(stack: Stack) -> None:
    """The exchange and the replacement settle a code once: whichever comes second loses."""
    async with signed_in(stack) as (_, verifier, _, status):
        code = code_of(str(status["redirect_to"]))
    assert await stack.bridge.oauth.settle_code(code, stack.clock() + 600)
    answer = await exchange(stack, Authorized(code, "st", ISSUER, verifier))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_continue_checks_the_csrf_token_and_the_origin(stack: Stack) -> None:
    async with signed_in(stack) as (browser, _, csrf, _):
        forged = await browser.post(
            "/authorize/continue", data={"csrf_token": "x" * 64, "confirm": "1"}, headers=ORIGIN
        )
        elsewhere = await browser.post(
            "/authorize/continue",
            data={"csrf_token": csrf, "confirm": "1"},
            headers={"Origin": "https://evil.example"},
        )
    assert forged.status_code == 403
    assert elsewhere.status_code == 403


# The no-JS path ------------------------------------------------------------------------------


async def test_no_js_continue_shows_who_signed_in_before_returning(stack: Stack) -> None:
    verifier, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(authorize_path(challenge=challenge, state="nojs"))
        csrf = form_value(page.text, "csrf_token")
        started = await browser.post(
            "/authorize/platform",
            data={"platform_url": stack.emulator.platform_url, "csrf_token": csrf},
            headers=ORIGIN,
        )
        assert started.status_code == 200
        login_url = login_link(started.text)
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(stack.settings.ib_poll_interval)
        # "I've signed in — continue" (no confirm yet): the login completes, the page says who.
        shown = await browser.post("/authorize/continue", data={"csrf_token": csrf}, headers=ORIGIN)
        assert shown.status_code == 200
        assert "Signed in as" in shown.text
        assert "Ada Lovelace (ada@example.com)" in shown.text
        assert 'name="confirm" value="1"' in shown.text
        assert "Continue to" in shown.text
        assert "Not you?" in shown.text
        assert 'id="confirm-continue" autofocus' in shown.text
        # The confirming press returns to the app.
        back = await browser.post(
            "/authorize/continue",
            data={"csrf_token": form_value(shown.text, "csrf_token"), "confirm": "1"},
            headers=ORIGIN,
        )
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(LOOPBACK_REDIRECT + "?")
    answer = await exchange(stack, Authorized(code_of(location), "nojs", ISSUER, verifier))
    assert answer.status_code == 200, answer.text


async def test_a_confirm_before_the_login_was_shown_does_not_return(stack: Stack) -> None:
    """A confirming post for a login that was not done when the page was drawn shows who
    signed in first: nobody returns to the app with an identity they have not seen."""
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        csrf, login_url = await open_and_start(stack, browser, challenge, "s")
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(stack.settings.ib_poll_interval)
        answer = await confirm(browser, csrf)
    assert answer.status_code == 200
    assert "Ada Lovelace (ada@example.com)" in answer.text


def login_link(html: str) -> str:
    """The no-JS page's link to IB's sign-in page."""
    start = html.index('id="login-link" href="') + len('id="login-link" href="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


# Not you? Cancel -----------------------------------------------------------------------------


async def test_not_you_cancel_revokes_the_grant_and_returns_access_denied(stack: Stack) -> None:
    async with signed_in(stack, state="st-9") as (browser, verifier, csrf, status):
        # Someone already took the code (the starter of a forwarded sign-in link, say).
        taken = await exchange(
            stack, Authorized(code_of(str(status["redirect_to"])), "st-9", ISSUER, verifier)
        )
        assert taken.status_code == 200
        tokens = taken.json()
        answer = await browser.post("/authorize/cancel", data={"csrf_token": csrf}, headers=ORIGIN)
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-9"]
    assert query["iss"] == [ISSUER]
    # The grant is over: its access token, its refresh token.
    info = await stack.http.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401
    assert (await refresh(stack, tokens["refresh_token"])).status_code == 400
    with contextlib.closing(sqlite3.connect(stack.store.path)) as db:
        assert db.execute("SELECT revoked FROM grants").fetchall() == [(1,)]


async def test_not_you_cancel_kills_the_unexchanged_code(stack: Stack) -> None:
    async with signed_in(stack) as (browser, verifier, csrf, status):
        answer = await browser.post("/authorize/cancel", data={"csrf_token": csrf}, headers=ORIGIN)
    assert answer.status_code == 303
    code = code_of(str(status["redirect_to"]))
    late = await exchange(stack, Authorized(code, "st", ISSUER, verifier))
    assert late.status_code == 400
