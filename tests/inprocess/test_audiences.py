"""RFC 8707 audiences: a token asked for a resource is for that resource alone, so a token a
client sends to a third-party resource server (an MCP server) cannot be passed through to the
proxy; `resource` at /token must be the grant's own; /userinfo takes proxy tokens and OpenID
sign-ins; an access token for any resource can be revoked."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from inprocess_flow import CLIENT_ID, authorize, exchange, refresh, tokens
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

MCP = "http://127.0.0.1:8003/mcp"  # a resource server's URL (loopback: allowed in dev mode)
PROXY = f"{ISSUER}/proxy"
PROXY_PATH = "/proxy/api/3.0.0/BnK4JV/resource.limit(1)"


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the bridge verified it when it signed it)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_for_a_resource_is_for_that_resource_alone(stack: Stack) -> None:
    token = await tokens(stack, resource=MCP)
    assert claims(token["access_token"])["aud"] == [MCP]
    refreshed = await refresh(stack, token["refresh_token"])
    assert claims(refreshed.json()["access_token"])["aud"] == [MCP]


async def test_a_token_for_no_resource_or_the_proxy_is_for_the_proxy(stack: Stack) -> None:
    for extra in ({}, {"resource": PROXY}):
        token = await tokens(stack, **extra)
        assert claims(token["access_token"])["aud"] == [PROXY]


async def test_passthrough_of_a_resource_servers_token_to_the_proxy_is_refused(
    stack: Stack,
) -> None:
    """The MCP authorization spec forbids token passthrough: the MCP server's token is not a
    proxy token, so the proxy answers 401 invalid_token before any byte reaches IB."""
    token = await tokens(stack, resource=MCP)
    answer = await stack.http.get(PROXY_PATH, headers=bearer(token["access_token"]))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_token"
    assert "another resource" in answer.json()["error_description"]
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert stack.ib_calls[-1] == "/v1/auth/app/info"  # nothing after the sign-in


async def test_a_proxy_token_passes_the_proxys_check(stack: Stack) -> None:
    token = await tokens(stack)
    answer = await stack.http.get(PROXY_PATH, headers=bearer(token["access_token"]))
    # Past authentication: in-process, IB's API host is not listening, hence no 401 but 502.
    assert answer.status_code == 502, answer.text
    await stack.bridge.upstream.aclose()  # the stack runs no lifespan to close it


@pytest.mark.parametrize("resource", ["http://127.0.0.1:9999/other", PROXY])
async def test_a_code_exchange_for_another_resource_is_invalid_target(
    stack: Stack, resource: str
) -> None:
    authorized = await authorize(stack, resource=MCP)
    answer = await exchange(stack, authorized, resource=resource)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_target"


async def test_a_code_exchange_for_another_resource_than_the_default_is_invalid_target(
    stack: Stack,
) -> None:
    """A grant that named no resource is for the proxy: it cannot be turned into a token for
    a resource server at /token."""
    answer = await exchange(stack, await authorize(stack), resource=MCP)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_target"


async def test_a_code_exchange_naming_the_grants_resource_works(stack: Stack) -> None:
    answer = await exchange(stack, await authorize(stack, resource=MCP), resource=MCP)
    assert answer.status_code == 200, answer.text
    assert claims(answer.json()["access_token"])["aud"] == [MCP]


async def test_a_refresh_for_another_resource_is_invalid_target_and_costs_nothing(
    stack: Stack,
) -> None:
    token = await tokens(stack, resource=MCP)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
        "client_id": CLIENT_ID,
    }
    wrong = await stack.http.post("/token", data={**data, "resource": PROXY})
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"] == "invalid_target"
    # The refresh token was not consumed: the same token still refreshes, once.
    right = await stack.http.post("/token", data={**data, "resource": MCP})
    assert right.status_code == 200, right.text
    assert claims(right.json()["access_token"])["aud"] == [MCP]


async def test_userinfo_refuses_a_resource_servers_token_without_openid(stack: Stack) -> None:
    token = await tokens(stack, resource=MCP)
    answer = await stack.http.get("/userinfo", headers=bearer(token["access_token"]))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_token"


async def test_userinfo_answers_an_openid_sign_in_for_a_resource_server(stack: Stack) -> None:
    """OIDC Core 5.3: the access token of an OpenID request is good at /userinfo, whatever it
    is for; IB's coordinates, though, go only to tokens that can call IB (proxy tokens)."""
    token = await tokens(stack, resource=MCP, scope="openid email ib.read")
    answer = await stack.http.get("/userinfo", headers=bearer(token["access_token"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sub"] == "u-demo"
    assert "email" in body
    assert "ib_client_id" not in body
    proxy = await tokens(stack, scope="openid ib.read")
    assert (
        "ib_client_id"
        in (await stack.http.get("/userinfo", headers=bearer(proxy["access_token"]))).json()
    )


async def test_a_resource_servers_access_token_can_be_revoked(stack: Stack) -> None:
    """Revocation finds access tokens of any audience, so a client signs out of its resource
    server too."""
    token = await tokens(stack, resource=MCP)
    revoked = await stack.http.post(
        "/revoke", data={"token": token["access_token"], "client_id": CLIENT_ID}
    )
    assert revoked.status_code == 200
    again = await refresh(stack, token["refresh_token"])
    assert again.json()["error"] == "invalid_grant"
