"""Interoperability: Authlib's own OAuth 2 client, unmodified, completes the flow with PKCE."""

from __future__ import annotations

import secrets

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from flow import LOOPBACK_REDIRECT, sign_in_at_ib, wait_for_redirect
from servers import Bridge, Emulator


def test_authlib_client_flow(bridge: Bridge, emulator: Emulator) -> None:
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server").json()
    client = OAuth2Client(
        client_id="mcp-public-client",
        redirect_uri=LOOPBACK_REDIRECT,
        scope="ib.read ib.write profile",  # profile: the name at /userinfo
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier,
        platform_url=emulator.platform_url)

    with httpx.Client(timeout=10) as browser:  # the user's browser
        page = browser.get(url)
        assert page.status_code == 200
        from flow import form_value

        started = browser.post(f"{bridge.url}/authorize/platform",
                               data={"platform_url": emulator.platform_url,
                                     "csrf_token": form_value(page.text, "csrf_token")},
                               headers={"Accept": "application/json"})
        sign_in_at_ib(started.json()["login_url"])
        callback = wait_for_redirect(browser, bridge.url)

    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)
    assert token["token_type"].lower() == "bearer"
    assert callback.split("state=")[1].split("&")[0] == state
    userinfo = client.get(metadata["userinfo_endpoint"])
    assert userinfo.json()["given_name"] == "Ada"
    refreshed = client.refresh_token(metadata["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    path = f"api/3.0.0/{userinfo.json()['ib_client_id']}/user.limit(5)"
    assert client.get(f"{bridge.url}/proxy/{path}").status_code == 200
