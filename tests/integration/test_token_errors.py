"""The token endpoint refuses every wrong exchange with the RFC 6749 error, and replays revoke."""

from __future__ import annotations

import base64

import httpx
import pytest

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator


def userinfo_status(bridge: Bridge, access_token: str) -> int:
    return httpx.get(f"{bridge.url}/userinfo",
                     headers={"Authorization": f"Bearer {access_token}"}).status_code


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "x" * 50},
        {"redirect_uri": "http://127.0.0.1:53682/other"},
        {"client_id": "other-public"},
        {"code": "not-a-code"},
    ],
)
def test_wrong_exchange_is_invalid_grant(bridge: Bridge, emulator: Emulator,
                                         overrides: dict[str, str]) -> None:
    response = exchange(bridge.url, authorize(bridge.url, emulator.platform_url), **overrides)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


def test_missing_verifier_is_refused(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url)
    response = httpx.post(f"{bridge.url}/token", data={
        "grant_type": "authorization_code", "code": authorized.code,
        "redirect_uri": authorized.redirect_uri, "client_id": authorized.client_id})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unknown_client_is_invalid_client(bridge: Bridge, emulator: Emulator) -> None:
    response = exchange(bridge.url, authorize(bridge.url, emulator.platform_url),
                        client_id="nobody")
    assert response.status_code in {400, 401}
    assert response.json()["error"] == "invalid_client"


def test_code_used_twice_revokes_what_it_issued(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url)
    first = exchange(bridge.url, authorized)
    assert first.status_code == 200
    tokens = first.json()
    assert userinfo_status(bridge, tokens["access_token"]) == 200
    second = exchange(bridge.url, authorized)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert userinfo_status(bridge, tokens["access_token"]) == 401
    assert refresh(bridge.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_reuse_revokes_the_grant(bridge: Bridge, emulator: Emulator) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    rotated = refresh(bridge.url, tokens["refresh_token"]).json()
    newest = refresh(bridge.url, rotated["refresh_token"]).json()  # the client moved on
    assert userinfo_status(bridge, newest["access_token"]) == 200
    replay = refresh(bridge.url, tokens["refresh_token"])
    assert replay.json()["error"] == "invalid_grant"
    assert userinfo_status(bridge, newest["access_token"]) == 401


def test_refresh_by_another_client_is_refused(bridge: Bridge, emulator: Emulator) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    response = refresh(bridge.url, tokens["refresh_token"], client_id="other-public")
    assert response.json()["error"] == "invalid_grant"


def test_confidential_client_with_basic_auth(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url, client_id="web-app",
                           redirect_uri="https://app.example/callback")
    data = {"grant_type": "authorization_code", "code": authorized.code,
            "redirect_uri": authorized.redirect_uri, "code_verifier": authorized.verifier}
    wrong = httpx.post(f"{bridge.url}/token", data=data, auth=("web-app", "wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    right = httpx.post(f"{bridge.url}/token", data=data, auth=("web-app", "web-app-secret"))
    # The wrong attempt did not consume the code: client authentication comes first.
    assert right.status_code == 200, right.text
    as_public = refresh(bridge.url, right.json()["refresh_token"], client_id="web-app")
    assert as_public.json()["error"] == "invalid_client"


def test_confidential_client_with_post_auth(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url, client_id="post-app",
                           redirect_uri="https://post.example/callback")
    response = exchange(bridge.url, authorized, client_secret="post-app-secret")
    assert response.status_code == 200, response.text
    basic = base64.b64encode(b"post-app:post-app-secret").decode()
    refreshed = httpx.post(f"{bridge.url}/token", headers={"Authorization": f"Basic {basic}"},
                           data={"grant_type": "refresh_token",
                                 "refresh_token": response.json()["refresh_token"]})
    assert refreshed.json()["error"] == "invalid_client"  # registered for post, not basic


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"grant_type":"refresh_token"}', "application/json", 415, "invalid_request"),
        (b"grant_type=password&username=a&password=b", "application/x-www-form-urlencoded",
         400, "unsupported_grant_type"),
        (b"grant_type=refresh_token&grant_type=refresh_token",
         "application/x-www-form-urlencoded", 400, "invalid_request"),
        (b"grant_type=%C3%28", "application/x-www-form-urlencoded", 400, "invalid_request"),
        (b"code=" + b"x" * 70_000, "application/x-www-form-urlencoded", 413, "invalid_request"),
        (b"", "application/x-www-form-urlencoded", 400, "unsupported_grant_type"),
    ],
)
def test_malformed_token_requests(bridge: Bridge, content: bytes, content_type: str,
                                  status: int, error: str) -> None:
    response = httpx.post(f"{bridge.url}/token", content=content,
                          headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_resource_indicator_sets_the_audience(bridge: Bridge, emulator: Emulator) -> None:
    from joserfc import jwt

    authorized = authorize(bridge.url, emulator.platform_url,
                           resource="http://127.0.0.1:9999/mcp")
    token = exchange(bridge.url, authorized).json()["access_token"]
    claims = jwt.decode(token, _public_keys(bridge)).claims
    assert claims["aud"] == ["http://127.0.0.1:9999/mcp"]  # that resource alone
    assert claims["iss"] == bridge.url
    assert "sid" not in claims


def _public_keys(bridge: Bridge):
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(httpx.get(f"{bridge.url}/jwks.json").json())
