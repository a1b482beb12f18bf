"""The sign-in flow driven over HTTP exactly as the login page and a user's browser drive it:
/authorize, the platform form, IB's login form (on the emulator), polling, the redirect."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

LOOPBACK_REDIRECT = "http://127.0.0.1:53682/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


@dataclass
class Authorized:
    code: str
    state: str
    iss: str
    verifier: str
    redirect_uri: str
    client_id: str


def authorize_url(bridge_url: str, *, client_id: str = "mcp-public-client",
                  redirect_uri: str = LOOPBACK_REDIRECT, challenge: str, state: str,
                  **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
              **extra}
    return f"{bridge_url}/authorize?{urlencode(params)}"


def sign_in_at_ib(login_url: str, username: str = "demo", password: str = "demo") -> None:
    """What the user does in the popup: open IB's page and submit its form."""
    with httpx.Client(timeout=10) as ib:
        page = ib.get(login_url)
        assert page.status_code == 200, page.text
        token = form_value(page.text, "token")
        answer = ib.post(urlsplit(login_url)._replace(path="/auth/login", query="").geturl(),
                         data={"token": token, "username": username, "password": password,
                               "action": "login"})
        assert answer.status_code == 200, answer.text


def start_login(browser: httpx.Client, bridge_url: str, platform_url: str,
                **authorize_params: str) -> tuple[str, str]:
    """Open /authorize and submit the platform; returns (IB login URL, csrf token)."""
    page = browser.get(authorize_url(bridge_url, **authorize_params))
    assert page.status_code == 200, page.text
    csrf = form_value(page.text, "csrf_token")
    started = browser.post(f"{bridge_url}/authorize/platform",
                           data={"platform_url": platform_url, "csrf_token": csrf},
                           headers={"Accept": "application/json", "Origin": bridge_url})
    assert started.status_code == 200, started.text
    return started.json()["login_url"], csrf


def wait_for_redirect(browser: httpx.Client, bridge_url: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = browser.get(f"{bridge_url}/authorize/status").json()
        if status["status"] == "done":
            return str(status["redirect_to"])
        assert status["status"] == "pending", status
        time.sleep(status.get("poll_after_ms", 1000) / 1000)
    raise AssertionError("the login never completed")


def browser_sign_in(browser: httpx.Client, authorization_url: str, platform_url: str) -> str:
    """What the user does with an authorization URL that a client hands over: open the bridge's
    login page in `browser` (an httpx client, whose cookie jar is the browser's), give the
    platform URL, sign in as demo/demo on IB's page, and wait for the login page to finish.
    Returns the URL the page then redirects to (the client's redirect URI with code, state and
    iss), not yet followed."""
    parts = urlsplit(authorization_url)
    bridge_url = f"{parts.scheme}://{parts.netloc}"
    page = browser.get(authorization_url)
    assert page.status_code == 200, page.text
    started = browser.post(f"{bridge_url}/authorize/platform",
                           data={"platform_url": platform_url,
                                 "csrf_token": form_value(page.text, "csrf_token")},
                           headers={"Accept": "application/json", "Origin": bridge_url})
    assert started.status_code == 200, started.text
    sign_in_at_ib(started.json()["login_url"])
    return wait_for_redirect(browser, bridge_url)


def authorize(bridge_url: str, platform_url: str, *, client_id: str = "mcp-public-client",
              redirect_uri: str = LOOPBACK_REDIRECT, username: str = "demo",
              password: str = "demo", **extra: str) -> Authorized:
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    with httpx.Client(timeout=10) as browser:
        login_url, _ = start_login(browser, bridge_url, platform_url, client_id=client_id,
                                   redirect_uri=redirect_uri, challenge=challenge, state=state,
                                   **extra)
        sign_in_at_ib(login_url, username, password)
        redirect_to = wait_for_redirect(browser, bridge_url)
    assert redirect_to.startswith(redirect_uri + "?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(redirect_to).query).items()}
    return Authorized(query["code"], query["state"], query["iss"], verifier, redirect_uri,
                      client_id)


def exchange(bridge_url: str, authorized: Authorized, **overrides: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": authorized.code,
            "redirect_uri": authorized.redirect_uri, "client_id": authorized.client_id,
            "code_verifier": authorized.verifier, **overrides}
    return httpx.post(f"{bridge_url}/token", data=data, timeout=10)


def refresh(bridge_url: str, refresh_token: str,
            client_id: str = "mcp-public-client") -> httpx.Response:
    return httpx.post(f"{bridge_url}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id,
    }, timeout=10)
