"""Dynamic client registration over real sockets: an MCP host's path from no client id to a
signed-in proxy call, and a confidential web app's."""

from __future__ import annotations

import httpx

from flow import authorize, exchange, refresh
from servers import Bridge, Emulator


def register(bridge: Bridge, body: dict[str, object]) -> dict[str, object]:
    answer = httpx.post(f"{bridge.url}/register", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    info: dict[str, object] = answer.json()
    return info


def test_an_mcp_host_registers_signs_in_and_calls_the_proxy(
    bridge: Bridge, emulator: Emulator
) -> None:
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["registration_endpoint"] == f"{bridge.url}/register"
    info = register(bridge, {
        "client_name": "Integration MCP host",
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    })
    client_id = str(info["client_id"])
    assert "client_secret" not in info
    # The host's loopback listener got another port this time (RFC 8252 section 7.3).
    authorized = authorize(bridge.url, emulator.platform_url, client_id=client_id,
                           redirect_uri="http://127.0.0.1:40123/callback")
    tokens = exchange(bridge.url, authorized)
    assert tokens.status_code == 200, tokens.text
    auth = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert httpx.get(f"{bridge.url}/userinfo", headers=auth, timeout=10).status_code == 200
    refreshed = refresh(bridge.url, tokens.json()["refresh_token"], client_id=client_id)
    assert refreshed.status_code == 200, refreshed.text


def test_a_confidential_client_registers_and_exchanges_with_its_secret(
    bridge: Bridge, emulator: Emulator
) -> None:
    info = register(bridge, {"client_name": "Web app",
                             "redirect_uris": ["https://web.example/callback"]})
    client_id, secret = str(info["client_id"]), str(info["client_secret"])
    authorized = authorize(bridge.url, emulator.platform_url, client_id=client_id,
                           redirect_uri="https://web.example/callback")
    form = {"grant_type": "authorization_code", "code": authorized.code,
            "redirect_uri": authorized.redirect_uri, "code_verifier": authorized.verifier}
    answer = httpx.post(f"{bridge.url}/token", data=form, auth=(client_id, secret), timeout=10)
    assert answer.status_code == 200, answer.text
