"""OpenID Connect and client-library interop against a real bridge process.

- Authlib's Starlette OIDC client (a relying party configured only by `server_metadata_url`)
  signs a user in: it validates the id_token itself (JWKS signature, iss, aud, exp, nonce,
  at_hash) and reads /userinfo.
- requests-oauthlib's `OAuth2Session`, unmodified, exchanges the code and refreshes with its
  default client authentication: HTTP Basic with an empty secret for a public client.

The user's part (the login page, IB's page) is scripted with tests/flow.py's helpers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.starlette_client import OAuth
from requests_oauthlib import OAuth2Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flow import LOOPBACK_REDIRECT, form_value, sign_in_at_ib, wait_for_redirect
from servers import Bridge, Emulator

RP_URL = "http://rp.example"  # the relying party runs in this process (ASGI transport)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sign_in(bridge: Bridge, emulator: Emulator, authorize_url: str) -> str:
    """The user's browser: open the client's authorization URL, choose the platform, sign in
    at IB; returns where the bridge sends the browser back (redirect_uri?code&state&iss)."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        started = browser.post(
            f"{bridge.url}/authorize/platform",
            data={"platform_url": emulator.platform_url,
                  "csrf_token": form_value(page.text, "csrf_token")},
            headers={"Accept": "application/json", "Origin": bridge.url},
        )
        assert started.status_code == 200, started.text
        sign_in_at_ib(started.json()["login_url"])
        return wait_for_redirect(browser, bridge.url)


def relying_party(bridge: Bridge) -> Starlette:
    """A 'Sign in with IntelligenceBank' web app, written as Authlib's docs show it."""
    oauth = OAuth()
    oauth.register(
        "intelligencebank",
        client_id="mcp-public-client",
        server_metadata_url=f"{bridge.url}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email ib.read",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "none",
        },
    )
    client = oauth.create_client("intelligencebank")

    async def login(request: Request) -> Response:
        response: Response = await client.authorize_redirect(request, LOOPBACK_REDIRECT)
        return response

    async def callback(request: Request) -> Response:
        token = await client.authorize_access_token(request)  # validates the id_token
        userinfo = await client.userinfo(token=token)
        return JSONResponse({"token": token, "id_claims": dict(token["userinfo"]),
                             "userinfo": dict(userinfo)})

    return Starlette(
        routes=[Route("/login", login), Route("/callback", callback)],
        middleware=[Middleware(SessionMiddleware, secret_key="rp-session-secret")],
    )


@pytest.mark.anyio
async def test_authlib_oidc_relying_party_signs_in(bridge: Bridge, emulator: Emulator) -> None:
    transport = httpx.ASGITransport(app=relying_party(bridge))
    async with httpx.AsyncClient(transport=transport, base_url=RP_URL) as rp_browser:
        started = await rp_browser.get("/login")
        assert started.status_code == 302, started.text
        authorize_url = started.headers["location"]
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["nonce"][0]  # Authlib sends a nonce for openid
        assert query["code_challenge_method"] == ["S256"]

        callback = sign_in(bridge, emulator, authorize_url)
        assert callback.startswith(LOOPBACK_REDIRECT + "?")
        # The browser lands on the relying party's callback with the bridge's answer.
        answer = await rp_browser.get("/callback?" + urlsplit(callback).query)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    id_claims = body["id_claims"]
    assert id_claims["iss"] == bridge.url
    assert id_claims["aud"] == "mcp-public-client"
    assert id_claims["sub"] == "u-demo"
    assert id_claims["nonce"] == query["nonce"][0]
    assert id_claims["name"] == "Ada Lovelace"
    assert id_claims["email"] == "ada@example.com"
    assert body["userinfo"]["sub"] == id_claims["sub"]
    assert body["userinfo"]["given_name"] == "Ada"
    assert body["userinfo"]["ib_client_id"] == "BnK4JV"  # ib.read: the IB coordinates too


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http token endpoints unless told this is a test over loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.mark.usefixtures("insecure_transport")
def test_requests_oauthlib_default_token_request(bridge: Bridge, emulator: Emulator) -> None:
    session = OAuth2Session(
        "mcp-public-client",
        redirect_uri=LOOPBACK_REDIRECT,
        scope=["openid", "ib.read"],
        pkce="S256",
    )
    authorize_url, state = session.authorization_url(
        f"{bridge.url}/authorize", platform_url=emulator.platform_url
    )
    callback = sign_in(bridge, emulator, authorize_url)

    captured: list[Any] = []
    session.register_compliance_hook("access_token_response", _capture(captured))
    token = session.fetch_token(f"{bridge.url}/token", authorization_response=callback)
    request = captured[0].request
    assert request.headers["Authorization"] == "Basic bWNwLXB1YmxpYy1jbGllbnQ6"
    assert "client_id=" not in request.body  # the library's default: the id in Basic only
    assert token["token_type"].lower() == "bearer"
    assert token["id_token"]
    assert parse_qs(urlsplit(callback).query)["state"] == [state]

    userinfo = session.get(f"{bridge.url}/userinfo")
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == "u-demo"

    # requests-oauthlib's refresh sends no client identification unless told (RFC 6749 6 does
    # not require it of a public client); the bridge needs to know the client, so name it.
    refreshed = session.refresh_token(f"{bridge.url}/token", client_id="mcp-public-client")
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["id_token"]


def test_a_confidential_client_with_an_empty_basic_secret_fails(bridge: Bridge) -> None:
    import base64

    basic = base64.b64encode(b"web-app:").decode()
    answer = httpx.post(f"{bridge.url}/token", headers={"Authorization": f"Basic {basic}"},
                        data={"grant_type": "refresh_token", "refresh_token": "x" * 40})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_non_utf8_basic_credentials_are_a_401(bridge: Bridge) -> None:
    for path in ("/token", "/revoke"):
        answer = httpx.post(f"{bridge.url}{path}", headers={"Authorization": "Basic //46/w=="},
                            data={"token": "x", "grant_type": "refresh_token",
                                  "refresh_token": "x"})
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client"


def _capture(into: list[Any]) -> Any:
    def hook(response: Any) -> Any:
        into.append(response)
        return response

    return hook

