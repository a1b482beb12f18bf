"""Token exchange (RFC 8693): a resource server swaps a user's token for its own URL for a
proxy token that names it in `act`, bound to the user's grant; everything else is refused with
the RFC 8693 2.2.2 / RFC 6749 5.2 error."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from test_audiences import MCP, PROXY, PROXY_PATH, bearer, claims

from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import CLIENT_ID, refresh, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
MCP_SERVER = ("mcp-server", "mcp-server-secret")
INTROSPECT_ONLY = ("introspect-only", "introspect-only-secret")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "clients": (
            ClientConfig(
                client_id=MCP_SERVER[0],
                client_secret=MCP_SERVER[1],
                token_endpoint_auth_method="client_secret_basic",
                redirect_uris=(),
                introspect=True,
                token_exchange=True,
                resource=MCP,
            ),
            ClientConfig(
                client_id=INTROSPECT_ONLY[0],
                client_secret=INTROSPECT_ONLY[1],
                token_endpoint_auth_method="client_secret_basic",
                redirect_uris=(),
                introspect=True,
            ),
        ),
    }


def basic(client: tuple[str, str]) -> dict[str, str]:
    credentials = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


async def token_exchange(
    stack: Stack, subject_token: str, client: tuple[str, str] | None = MCP_SERVER, **form: str
) -> httpx.Response:
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        "resource": PROXY,
        **form,
    }
    headers = basic(client) if client else {}
    return await stack.http.post(
        "/token", data={k: v for k, v in data.items() if v}, headers=headers
    )


async def test_an_exchange_gives_a_proxy_token_naming_the_actor(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP, scope="ib.read ib.write")
    answer = await token_exchange(stack, user["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "issued_token_type"}
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "ib.read ib.write"
    subject, issued = claims(user["access_token"]), claims(body["access_token"])
    assert issued["aud"] == [PROXY]
    assert issued["act"] == {"sub": MCP_SERVER[0]}
    assert issued["client_id"] == MCP_SERVER[0]
    assert issued["sub"] == subject["sub"] == "u-demo"
    assert issued["grant_id"] == subject["grant_id"]
    assert issued["exp"] <= subject["exp"]
    # A proxy token: /userinfo gives IB's coordinates, and the proxy lets it through (to
    # IB's API host, which is not listening in-process: 502, not 401).
    info = await stack.http.get("/userinfo", headers=bearer(body["access_token"]))
    assert info.status_code == 200, info.text
    assert info.json()["ib_client_id"]
    proxied = await stack.http.get(PROXY_PATH, headers=bearer(body["access_token"]))
    assert proxied.status_code == 502, proxied.text
    await stack.bridge.upstream.aclose()  # the stack runs no lifespan to close it


async def test_the_exchanged_token_is_introspected_with_its_actor(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP)
    exchanged = (await token_exchange(stack, user["access_token"])).json()["access_token"]
    body = (
        await stack.http.post("/introspect", data={"token": exchanged}, headers=basic(MCP_SERVER))
    ).json()
    assert body["active"] is True
    assert body["act"] == {"sub": MCP_SERVER[0]}
    assert body["aud"] == [PROXY]


async def test_a_narrower_scope_can_be_asked(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP, scope="ib.read ib.write")
    answer = await token_exchange(stack, user["access_token"], scope="ib.read")
    assert answer.status_code == 200, answer.text
    assert claims(answer.json()["access_token"])["scope"] == "ib.read"


async def test_the_exchanged_token_dies_with_the_grant(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP)
    exchanged = (await token_exchange(stack, user["access_token"])).json()["access_token"]
    assert (await stack.http.get("/userinfo", headers=bearer(exchanged))).status_code == 200
    revoked = await stack.http.post(
        "/revoke", data={"token": user["refresh_token"], "client_id": CLIENT_ID}
    )
    assert revoked.status_code == 200
    for path in ("/userinfo", PROXY_PATH):
        answer = await stack.http.get(path, headers=bearer(exchanged))
        assert answer.status_code == 401, (path, answer.text)
    # And a subject token of an ended grant is exchanged no more.
    again = await token_exchange(stack, user["access_token"])
    assert again.json()["error"] == "invalid_request"


async def test_the_exchanged_token_never_outlives_the_subject_token_or_session(
    stack: Stack,
) -> None:
    user = await tokens(stack, resource=MCP)
    subject_exp = claims(user["access_token"])["exp"]
    stack.clock.advance(600)
    answer = (await token_exchange(stack, user["access_token"])).json()
    assert claims(answer["access_token"])["exp"] == subject_exp
    assert answer["expires_in"] == subject_exp - int(stack.clock())
    # Near the IB session's end (24 h at the emulator), a refreshed subject token and its
    # exchange both stop there.
    stack.clock.advance(24 * 3600 - 600 - 100)
    fresh = (await refresh(stack, user["refresh_token"])).json()
    session_end = claims(fresh["access_token"])["exp"]
    assert session_end - int(stack.clock()) <= 100
    exchanged = (await token_exchange(stack, fresh["access_token"])).json()
    assert claims(exchanged["access_token"])["exp"] <= session_end


async def test_no_refresh_token_and_no_id_token(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP, scope="openid ib.read")
    body = (await token_exchange(stack, user["access_token"])).json()
    assert "refresh_token" not in body
    assert "id_token" not in body


async def test_the_audience_parameter_or_none_means_the_proxy(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP)
    for form in ({"resource": "", "audience": PROXY}, {"resource": ""}):
        answer = await token_exchange(stack, user["access_token"], **form)
        assert answer.status_code == 200, answer.text
        assert claims(answer.json()["access_token"])["aud"] == [PROXY]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"resource": "http://127.0.0.1:9999/other"}, "invalid_target"),
        ({"resource": MCP}, "invalid_target"),
        ({"resource": "", "audience": "somewhere-else"}, "invalid_target"),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            "invalid_request",
        ),
        ({"subject_token_type": ""}, "invalid_request"),
        ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
        ({"actor_token": "x", "actor_token_type": ACCESS_TOKEN}, "invalid_request"),
        ({"scope": "ib.read ib.write openid"}, "invalid_scope"),
    ],
)
async def test_a_wrong_exchange_gets_its_error(
    stack: Stack, form: dict[str, str], error: str
) -> None:
    user = await tokens(stack, resource=MCP, scope="ib.read ib.write")
    answer = await token_exchange(stack, user["access_token"], **form)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error


@pytest.mark.parametrize("subject", ["", "not-a-token", "a.b.c"])
async def test_a_missing_or_invalid_subject_token_is_invalid_request(
    stack: Stack, subject: str
) -> None:
    answer = await token_exchange(stack, subject)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


async def test_a_token_for_another_resource_cannot_be_exchanged(stack: Stack) -> None:
    """A resource server exchanges only tokens that users sent to it: not proxy tokens, not
    tokens of other resource servers, not exchanged tokens."""
    for extra in ({}, {"resource": "http://127.0.0.1:9999/other"}):
        user = await tokens(stack, **extra)
        answer = await token_exchange(stack, user["access_token"])
        assert answer.json()["error"] == "invalid_request", extra
    user = await tokens(stack, resource=MCP)
    exchanged = (await token_exchange(stack, user["access_token"])).json()["access_token"]
    answer = await token_exchange(stack, exchanged)
    assert answer.json()["error"] == "invalid_request"


async def test_only_clients_allowed_to_exchange_may(stack: Stack) -> None:
    user = await tokens(stack, resource=MCP)
    not_allowed = await token_exchange(stack, user["access_token"], client=INTROSPECT_ONLY)
    assert not_allowed.status_code == 400, not_allowed.text
    assert not_allowed.json()["error"] == "unauthorized_client"
    wrong_secret = await token_exchange(stack, user["access_token"], client=(MCP_SERVER[0], "x"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    # A public client cannot authenticate, so it cannot be an actor.
    public = await token_exchange(stack, user["access_token"], client=None, client_id=CLIENT_ID)
    assert public.status_code == 401
    assert public.json()["error"] == "invalid_client"
    # The user's own client (the subject token's) is no actor either.
    anonymous = await token_exchange(stack, user["access_token"], client=None)
    assert anonymous.status_code == 401


async def test_the_exchanged_tokens_are_advertised(stack: Stack) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = (await stack.http.get(path)).json()
        assert TOKEN_EXCHANGE in metadata["grant_types_supported"]
