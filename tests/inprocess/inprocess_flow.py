"""The sign-in flow in-process, as the login page and a user's browser drive it, with the clock
moved instead of waiting for IB's poll interval."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from inprocess_stack import Stack

LOOPBACK_REDIRECT = "http://127.0.0.1:53682/callback"
CLIENT_ID = "mcp-public-client"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


@dataclass
class Authorized:
    code: str
    state: str
    iss: str
    verifier: str
    redirect_uri: str = LOOPBACK_REDIRECT
    client_id: str = CLIENT_ID


def authorize_path(challenge: str, state: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": LOOPBACK_REDIRECT,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/authorize?{urlencode(params)}"


async def start_login(stack: Stack, browser: httpx.AsyncClient, **params: str) -> str:
    """Open /authorize and submit the platform; returns IB's login URL."""
    page = await browser.get(authorize_path(**params))
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
    return str(started.json()["login_url"])


async def sign_in_at_ib(stack: Stack, login_url: str, username: str = "demo") -> None:
    """What the user does in the popup: open IB's page and submit its form."""
    page = await stack.ib.get(login_url)
    assert page.status_code == 200, page.text
    answer = await stack.ib.post(
        urlsplit(login_url)._replace(path="/auth/login", query="").geturl(),
        data={
            "token": form_value(page.text, "token"),
            "username": username,
            "password": username,
            "action": "login",
        },
    )
    assert answer.status_code == 200, answer.text


async def poll(stack: Stack, browser: httpx.AsyncClient) -> dict[str, str]:
    """One poll of the page, a poll interval after the last."""
    stack.clock.advance(stack.settings.ib_poll_interval)
    answer = await browser.get("/authorize/status")
    assert answer.status_code == 200, answer.text
    status: dict[str, str] = answer.json()
    return status


async def authorize(stack: Stack, **extra: str) -> Authorized:
    """The whole sign-in; `extra` adds or replaces authorization request parameters
    (client_id, redirect_uri, scope, resource, ...)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state=state, **extra)
        await sign_in_at_ib(stack, login_url)
        status = await poll(stack, browser)
    assert status["status"] == "done", status
    query = {k: v[0] for k, v in parse_qs(urlsplit(status["redirect_to"]).query).items()}
    return Authorized(
        query["code"],
        query["state"],
        query["iss"],
        verifier,
        redirect_uri=extra.get("redirect_uri", LOOPBACK_REDIRECT),
        client_id=extra.get("client_id", CLIENT_ID),
    )


async def exchange(stack: Stack, authorized: Authorized, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": authorized.code,
        "redirect_uri": authorized.redirect_uri,
        "client_id": authorized.client_id,
        "code_verifier": authorized.verifier,
        **overrides,
    }
    return await stack.http.post("/token", data=data)


async def refresh(stack: Stack, refresh_token: str) -> httpx.Response:
    return await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
        },
    )


async def tokens(stack: Stack, client_secret: str | None = None, **extra: str) -> dict[str, str]:
    """Sign in and exchange the code; a confidential client gives its `client_secret`."""
    secret = {"client_secret": client_secret} if client_secret else {}
    answer = await exchange(stack, await authorize(stack, **extra), **secret)
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body
