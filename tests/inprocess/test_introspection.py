"""RFC 7662 introspection: live tokens are active with their claims; revoked, idle, expired,
replaced, unknown or forged ones are not; only confidential clients may ask, and only a
resource server may ask about tokens it was not issued."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import refresh, tokens
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

RS = ("resource-server", "rs-secret")
WEB = ("web-app", "web-secret")
WEB_REDIRECT = "https://app.example/callback"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "refresh_idle_timeout": 3600,
        "clients": (
            ClientConfig(
                client_id=RS[0],
                client_secret=RS[1],
                token_endpoint_auth_method="client_secret_basic",
                redirect_uris=("https://rs.example/unused",),
                introspect=True,
            ),
            ClientConfig(
                client_id=WEB[0],
                client_secret=WEB[1],
                token_endpoint_auth_method="client_secret_post",
                redirect_uris=(WEB_REDIRECT,),
            ),
        ),
    }


def basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


async def introspect(
    stack: Stack, token: str, client: tuple[str, str] = RS, **form: str
) -> httpx.Response:
    return await stack.http.post(
        "/introspect", data={"token": token, **form}, headers=basic(*client)
    )


async def test_a_live_access_token_is_active_with_its_claims(stack: Stack) -> None:
    token = await tokens(stack)
    answer = await introspect(stack, token["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    now = int(stack.clock())
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "sub": "u-demo",
        "client_id": "mcp-public-client",
        "scope": "ib.read ib.write",
        "aud": [f"{ISSUER}/proxy"],
        "exp": now + stack.settings.access_token_ttl,
        "iat": now,
        "iss": ISSUER,
        "jti": body["jti"],
    }


async def test_a_live_refresh_token_is_active(stack: Stack) -> None:
    token = await tokens(stack)
    body = (await introspect(stack, token["refresh_token"])).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == "mcp-public-client"
    assert body["sub"] == "u-demo"


async def test_revocation_makes_both_tokens_inactive_at_once(stack: Stack) -> None:
    token = await tokens(stack)
    revoked = await stack.http.post(
        "/revoke", data={"token": token["refresh_token"], "client_id": "mcp-public-client"}
    )
    assert revoked.status_code == 200
    for value in (token["access_token"], token["refresh_token"]):
        assert (await introspect(stack, value)).json() == {"active": False}


async def test_an_idle_grant_and_an_ended_ib_session_are_inactive(stack: Stack) -> None:
    token = await tokens(stack)
    stack.clock.advance(3601)  # past the idle timeout, before the access token's expiry
    assert (await introspect(stack, token["access_token"])).json() == {"active": False}
    second = await tokens(stack)
    stack.clock.advance(24 * 3600)  # the emulator's IB session lasts 24 h
    assert (await introspect(stack, second["refresh_token"])).json() == {"active": False}


async def test_a_rotated_refresh_token_is_inactive(stack: Stack) -> None:
    token = await tokens(stack)
    rotated = await refresh(stack, token["refresh_token"])
    assert rotated.status_code == 200
    assert (await introspect(stack, token["refresh_token"])).json() == {"active": False}
    assert (await introspect(stack, rotated.json()["refresh_token"])).json()["active"] is True


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0."
        + base64.urlsafe_b64encode(json.dumps({"iss": ISSUER, "sub": "u"}).encode())
        .decode()
        .rstrip("=")
        + ".",
        "",
    ],
)
async def test_unknown_or_forged_tokens_are_inactive(stack: Stack, token: str) -> None:
    answer = await introspect(stack, token)
    assert answer.status_code == 200
    assert answer.json() == {"active": False}


async def test_a_request_without_a_token_is_invalid(stack: Stack) -> None:
    answer = await stack.http.post(
        "/introspect", data={"token_type_hint": "access_token"}, headers=basic(*RS)
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_a_public_client_may_not_introspect(stack: Stack) -> None:
    token = await tokens(stack)
    answer = await stack.http.post(
        "/introspect", data={"token": token["access_token"], "client_id": "mcp-public-client"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_a_wrong_secret_is_invalid_client(stack: Stack) -> None:
    token = await tokens(stack)
    answer = await introspect(stack, token["access_token"], client=(RS[0], "wrong"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_a_client_asks_about_its_own_tokens_only_unless_a_resource_server(
    stack: Stack,
) -> None:
    own = await tokens(stack, client_secret=WEB[1], client_id=WEB[0], redirect_uri=WEB_REDIRECT)
    other = await tokens(stack)
    as_web = {"client_id": WEB[0], "client_secret": WEB[1]}
    mine = await stack.http.post("/introspect", data={"token": own["access_token"], **as_web})
    assert mine.json()["active"] is True
    theirs = await stack.http.post("/introspect", data={"token": other["access_token"], **as_web})
    assert theirs.json() == {"active": False}
    assert (await introspect(stack, own["access_token"])).json()["active"] is True


async def test_the_metadata_advertises_introspection(stack: Stack) -> None:
    metadata = (await stack.http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["introspection_endpoint"] == f"{ISSUER}/introspect"
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
