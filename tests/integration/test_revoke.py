"""RFC 7009 revocation: revoking either token of a grant ends it, at the proxy at once."""

from __future__ import annotations

import httpx
import pytest

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator
from signed_in import SignedIn, sign_in


def revoke(bridge: Bridge, token: str, **extra: str) -> httpx.Response:
    return httpx.post(f"{bridge.url}/revoke",
                      data={"token": token, "client_id": "mcp-public-client", **extra})


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_revoking_ends_the_grant_at_once(bridge: Bridge, emulator: Emulator, which: str) -> None:
    user: SignedIn = sign_in(bridge, emulator)
    proxied = f"{bridge.url}/proxy/{user.api('resource.limit(1)')}"
    assert httpx.get(proxied, headers=user.auth).status_code == 200
    token = user.refresh_token if which == "refresh_token" else user.access_token
    answer = revoke(bridge, token, token_type_hint=which)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert httpx.get(proxied, headers=user.auth).status_code == 401
    assert refresh(bridge.url, user.refresh_token).json()["error"] == "invalid_grant"


def test_wrong_hint_still_finds_the_token(bridge: Bridge, emulator: Emulator) -> None:
    user = sign_in(bridge, emulator)
    assert revoke(bridge, user.refresh_token, token_type_hint="access_token").status_code == 200
    assert refresh(bridge.url, user.refresh_token).json()["error"] == "invalid_grant"


def test_unknown_tokens_are_fine_and_bad_requests_are_not(bridge: Bridge) -> None:
    assert revoke(bridge, "not-a-token").status_code == 200
    missing = httpx.post(f"{bridge.url}/revoke", data={"client_id": "mcp-public-client"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    hint = revoke(bridge, "x", token_type_hint="id_token")
    assert hint.json()["error"] == "unsupported_token_type"
    anonymous = httpx.post(f"{bridge.url}/revoke", data={"token": "x"})
    assert anonymous.json()["error"] == "invalid_client"


def test_another_client_cannot_revoke(bridge: Bridge, emulator: Emulator) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    other = revoke(bridge, tokens["refresh_token"], client_id="other-public")
    assert other.status_code == 400
    assert refresh(bridge.url, tokens["refresh_token"]).status_code == 200


def test_confidential_client_revokes_with_basic_auth(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url, client_id="web-app",
                           redirect_uri="https://app.example/callback")
    tokens = httpx.post(f"{bridge.url}/token", auth=("web-app", "web-app-secret"), data={
        "grant_type": "authorization_code", "code": authorized.code,
        "redirect_uri": authorized.redirect_uri, "code_verifier": authorized.verifier}).json()
    answer = httpx.post(f"{bridge.url}/revoke", auth=("web-app", "web-app-secret"),
                        data={"token": tokens["refresh_token"]})
    assert answer.status_code == 200
    userinfo = httpx.get(f"{bridge.url}/userinfo",
                         headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401
