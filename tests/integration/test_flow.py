"""The whole sign-in flow over real sockets: login page, IB's login form, code exchange,
refresh rotation, userinfo, and the proxy."""

from __future__ import annotations

import httpx

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator


def test_code_exchange_gives_jwt_and_refresh_token(bridge: Bridge, emulator: Emulator) -> None:
    authorized = authorize(bridge.url, emulator.platform_url)
    assert authorized.iss == bridge.url
    response = exchange(bridge.url, authorized)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"].count(".") == 2
    assert body["refresh_token"]
    assert 0 < body["expires_in"] <= 3600
    assert response.headers["cache-control"] == "no-store"


def test_userinfo_and_proxy_list(bridge: Bridge, emulator: Emulator) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url,
                                            scope="ib.read ib.write email")).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = httpx.get(f"{bridge.url}/userinfo", headers=auth)
    assert info.status_code == 200, info.text
    claims = info.json()
    assert claims["email"] == "ada@example.com"
    path = f"api/3.0.0/{claims['ib_client_id']}/resource.limit(0,10).order(lastUpdateTime:-1)"
    listed = httpx.get(f"{bridge.url}/proxy/{path}", headers=auth)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["response"]["rows"]) == 10
    host = claims["ib_api_url"].split("://", 1)[1]
    by_host = httpx.get(f"{bridge.url}/proxy/{host}/{path}", headers=auth)
    assert by_host.json() == listed.json()


def test_refresh_rotates(bridge: Bridge, emulator: Emulator) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    rotated = refresh(bridge.url, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    # A retry at once (its answer lost) gets the same answer: the grace window.
    retried = refresh(bridge.url, tokens["refresh_token"])
    assert retried.json()["refresh_token"] == rotated.json()["refresh_token"]
    newest = refresh(bridge.url, rotated.json()["refresh_token"])
    assert newest.status_code == 200, newest.text
    # Once the client has moved on, the old token again is a replay.
    again = refresh(bridge.url, tokens["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # The replay revoked the whole grant: the newest token is dead too.
    assert refresh(bridge.url, newest.json()["refresh_token"]).json()["error"] == "invalid_grant"
