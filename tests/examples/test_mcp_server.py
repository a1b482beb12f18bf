"""examples/mcp_server: an MCP server protected by the bridge, driven by the official `mcp` SDK's
own OAuth client (unmodified): the 401, RFC 9728 and RFC 8414 discovery, the pre-registered
public client, a Client ID Metadata Document over https, or RFC 7591 dynamic registration, the
sign-in (scripted over HTTP like a user's
browser), the code exchange with the server's RFC 8707 resource, then a tool call that reads
IB through the bridge's proxy with a proxy token the server got by RFC 8693 token exchange
(never the user's token, which the proxy refuses). tests/interop does the same with the
TypeScript SDK."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from flow import authorize, browser_sign_in, exchange
from servers import HTTPS_DOCUMENT_PATH, Bridge, Emulator, HttpsClientDocument, McpServer

CLIENT_ID = "mcp-public-client"
REDIRECT_URI = "http://127.0.0.1:53682/callback"  # never listened on: the test reads the redirect
RESULT_ENV = "MCP_EXAMPLE_RESULT"  # a file to save the tool results in (default: pytest's tmp)


# -- the HTTP level -----------------------------------------------------------------------------


def test_metadata_names_the_bridge(bridge: Bridge, mcp_server: McpServer) -> None:
    root = mcp_server.metadata_url.replace(
        "/oauth-protected-resource/mcp", "/oauth-protected-resource"
    )
    for url in (mcp_server.metadata_url, root):
        answer = httpx.get(url)
        assert answer.status_code == 200, url
        assert answer.json() | {"resource_name": None} == {
            "resource": mcp_server.url,
            "authorization_servers": [bridge.url],
            "scopes_supported": ["ib.read"],
            "bearer_methods_supported": ["header"],
            "resource_name": None,
        }


def test_no_token_gets_the_discovery_challenge(mcp_server: McpServer) -> None:
    answer = httpx.post(
        mcp_server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == (
        f'Bearer scope="ib.read", resource_metadata="{mcp_server.metadata_url}"'
    )


def test_a_revoked_sign_in_is_refused_at_once(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer
) -> None:
    """Through introspection: a JWT that still verifies is refused with 401 invalid_token as
    soon as its grant is revoked, so the MCP client signs in again."""
    tokens = exchange(
        bridge.url, authorize(bridge.url, emulator.platform_url, resource=mcp_server.url)
    ).json()
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "Accept": "application/json, text/event-stream",
    }
    before = httpx.post(mcp_server.url, json=ping, headers=headers)
    assert before.status_code != 401, before.text
    revoked = httpx.post(
        f"{bridge.url}/revoke",
        data={"token": tokens["refresh_token"], "client_id": "mcp-public-client"},
    )
    assert revoked.status_code == 200
    # The test server caches no introspection answer (--introspection-cache 0): at once.
    after = httpx.post(mcp_server.url, json=ping, headers=headers)
    assert after.status_code == 401, after.text
    challenge = after.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'scope="ib.read"' in challenge


def test_a_token_for_the_proxy_only_is_refused(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer
) -> None:
    """A normal sign-in (no `resource`): aud is only <bridge>/proxy, not this server."""
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    assert (
        httpx.get(
            f"{bridge.url}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).status_code
        == 200
    )  # a live token
    answer = httpx.post(
        mcp_server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{mcp_server.metadata_url}"' in challenge
    assert "another resource" in answer.json()["error_description"]


def test_passing_the_servers_token_through_to_the_proxy_is_refused(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer
) -> None:
    """The MCP authorization spec forbids token passthrough: the token the MCP client holds is
    for this server alone, so sent straight to the bridge's proxy it gets 401 invalid_token;
    the server's own tools reach IB by exchanging it (see the SDK tests below)."""
    tokens = exchange(
        bridge.url, authorize(bridge.url, emulator.platform_url, resource=mcp_server.url)
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    passthrough = httpx.get(
        f"{bridge.url}/proxy/api/3.0.0/BnK4JV/resource.limit(0,1)", headers=headers
    )
    assert passthrough.status_code == 401, passthrough.text
    assert passthrough.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in passthrough.headers["www-authenticate"]
    # ... while the server itself accepts it.
    ping = httpx.post(
        mcp_server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert ping.status_code != 401, ping.text


def test_a_token_without_ib_read_gets_insufficient_scope(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer
) -> None:
    tokens = exchange(
        bridge.url,
        authorize(bridge.url, emulator.platform_url, resource=mcp_server.url, scope="ib.write"),
    ).json()
    answer = httpx.post(
        mcp_server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert answer.status_code == 403
    assert answer.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="ib.read", '
        f'resource_metadata="{mcp_server.metadata_url}"'
    )


def test_a_forged_token_is_refused(mcp_server: McpServer) -> None:
    answer = httpx.post(mcp_server.url, json={}, headers={"Authorization": "Bearer abc.def.ghi"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


# -- the MCP SDK's own OAuth client -------------------------------------------------------------


@dataclass
class Storage:
    """The SDK's `TokenStorage`, in memory. Holding a client, the SDK uses it and registers none
    (`pre_registered()`); empty, the SDK registers one (RFC 7591) and saves it here."""

    client: OAuthClientInformationFull | None = None
    tokens: OAuthToken | None = None
    saved_clients: list[OAuthClientInformationFull] = field(default_factory=list)

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.saved_clients.append(client_info)
        self.client = client_info


def pre_registered() -> Storage:
    """The bridge's well-known public client, so the SDK skips registration."""
    return Storage(
        OAuthClientInformationFull(
            client_id=CLIENT_ID,
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        )
    )


@dataclass
class ScriptedUser:
    """The user's browser: opens the authorization URL the SDK hands over, picks the platform,
    signs in at (emulated) IB, and lands on the redirect URI, which the SDK then reads."""

    bridge: Bridge
    emulator: Emulator
    authorization_urls: list[str] = field(default_factory=list)
    redirect_to: str | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        self.redirect_to = await anyio.to_thread.run_sync(self._sign_in, authorization_url)

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.redirect_to is not None
        assert self.redirect_to.startswith(REDIRECT_URI + "?"), self.redirect_to
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.redirect_to).query).items()}
        return AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    def _sign_in(self, authorization_url: str) -> str:
        with httpx.Client(timeout=10) as browser:
            return browser_sign_in(browser, authorization_url, self.emulator.platform_url)


async def connect_and_call(
    server_url: str,
    user: ScriptedUser,
    storage: Storage,
    sent: list[str],
    client_metadata_url: str | None = None,
) -> dict[str, Any]:
    provider = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="test MCP client",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=user.redirect_handler,
        callback_handler=user.callback_handler,
        client_metadata_url=client_metadata_url,
    )

    async def record(response: httpx2.Response) -> None:
        request = response.request
        sent.append(
            f"{request.method} {request.url.copy_with(query=None)} -> {response.status_code}"
        )

    async with (
        httpx2.AsyncClient(
            auth=provider,
            timeout=httpx2.Timeout(30.0, read=60.0),
            event_hooks={"response": [record]},
        ) as http,
        streamable_http_client(server_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        searched = await session.call_tool("search_resources", {"keywords": "logo", "limit": 5})
        assert not searched.is_error, searched.content
        first_id = searched.structured_content["resources"][0]["id"]
        one = await session.call_tool("get_resource", {"resource_id": first_id})
        assert not one.is_error, one.content
        missing = await session.call_tool("get_resource", {"resource_id": "0" * 24})
    return {
        "tools": sorted(tool.name for tool in tools.tools),
        "search_resources": searched.structured_content,
        "get_resource": one.structured_content,
        "missing": {
            "is_error": missing.is_error,
            "text": [getattr(block, "text", None) for block in missing.content],
        },
    }


def test_the_mcp_sdk_signs_in_and_calls_a_tool(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer, tmp_path: Path
) -> None:
    before = len(bridge.signed_in_clients())
    user, storage, sent = ScriptedUser(bridge, emulator), pre_registered(), list[str]()
    result = anyio.run(connect_and_call, mcp_server.url, user, storage, sent)
    saved = Path(os.environ.get(RESULT_ENV) or tmp_path / "tool_result.json")
    saved.write_text(json.dumps({"requests": sent, **result}, indent=2) + "\n")

    # discovery: 401 -> RFC 9728 (the URL from the challenge) -> RFC 8414 -> token, no /register
    assert sent[:4] == [
        f"POST {mcp_server.url} -> 401",
        f"GET {mcp_server.metadata_url} -> 200",
        f"GET {bridge.url}/.well-known/oauth-authorization-server -> 200",
        f"POST {bridge.url}/token -> 200",
    ], sent
    assert sent[4] == f"POST {mcp_server.url} -> 200", sent
    assert not any("/register" in line for line in sent)
    assert storage.saved_clients == []

    # the authorization request: PKCE, the pre-registered client, this server as the resource
    [url] = user.authorization_urls
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{bridge.url}/authorize?")
    assert query["client_id"] == CLIENT_ID
    assert query["resource"] == mcp_server.url
    # The server's scope; the MCP SDK adds offline_access because the bridge lists it.
    assert query["scope"].split() in (["ib.read"], ["ib.read", "offline_access"])
    assert query["code_challenge_method"] == "S256"

    # the token: for this server alone
    assert storage.tokens is not None
    claims = json.loads(_b64(storage.tokens.access_token.split(".")[1]))
    assert claims["aud"] == [mcp_server.url]
    assert claims["client_id"] == CLIENT_ID

    assert_real_rows(result, mcp_server)
    assert bridge.signed_in_clients()[before:] == [CLIENT_ID]

    # a refresh as the SDK sends it (with the resource) keeps this server in the audience
    refreshed = httpx.post(
        f"{bridge.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token or "",
            "client_id": CLIENT_ID,
            "resource": mcp_server.url,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    claims = json.loads(_b64(refreshed.json()["access_token"].split(".")[1]))
    assert claims["aud"] == [mcp_server.url]


def test_the_mcp_sdk_registers_signs_in_and_calls_a_tool(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer
) -> None:
    """No client stored: the SDK registers one at the bridge (RFC 7591 dynamic client
    registration, which the MCP specification lets a client fall back to when it has neither a
    pre-registered client id nor a metadata document), then signs in with it."""
    before = len(bridge.signed_in_clients())
    user, storage, sent = ScriptedUser(bridge, emulator), Storage(), list[str]()
    result = anyio.run(connect_and_call, mcp_server.url, user, storage, sent)

    # discovery, then registration at the registration_endpoint the bridge's metadata names
    assert sent[:6] == [
        f"POST {mcp_server.url} -> 401",
        f"GET {mcp_server.metadata_url} -> 200",
        f"GET {bridge.url}/.well-known/oauth-authorization-server -> 200",
        f"POST {bridge.url}/register -> 201",
        f"POST {bridge.url}/token -> 200",
        f"POST {mcp_server.url} -> 200",
    ], sent
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server").json()
    assert metadata["registration_endpoint"] == f"{bridge.url}/register"

    # the registered client: a new public client with the loopback redirect URI
    [client] = storage.saved_clients
    assert client.client_id
    assert client.client_id != CLIENT_ID
    assert client.client_secret is None
    assert client.token_endpoint_auth_method == "none"
    assert [str(uri) for uri in client.redirect_uris or []] == [REDIRECT_URI]

    # the authorization request and the token carry the registered client id
    [url] = user.authorization_urls
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["client_id"] == client.client_id
    assert query["resource"] == mcp_server.url
    assert query["code_challenge_method"] == "S256"
    assert storage.tokens is not None
    claims = json.loads(_b64(storage.tokens.access_token.split(".")[1]))
    assert claims["client_id"] == client.client_id
    assert claims["aud"] == [mcp_server.url]

    assert_real_rows(result, mcp_server)
    assert bridge.signed_in_clients()[before:] == [client.client_id]


def test_the_mcp_sdk_signs_in_with_a_client_id_metadata_document(
    emulator: Emulator, https_client: HttpsClientDocument
) -> None:
    """No client stored, and the SDK's own `client_metadata_url`: the https URL of the client's
    metadata document. The bridge's metadata offers both CIMD and registration; the SDK takes
    the URL as its client id (SEP-991) and registers nothing, and the bridge (which trusts the
    document server's test CA) fetches the document."""
    bridge, mcp_server, url = https_client.bridge, https_client.mcp_server, https_client.url
    assert https_client.document["redirect_uris"] == [REDIRECT_URI]
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server").json()
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["registration_endpoint"] == f"{bridge.url}/register"

    before = len(bridge.signed_in_clients())
    user, storage, sent = ScriptedUser(bridge, emulator), Storage(), list[str]()
    result = anyio.run(connect_and_call, mcp_server.url, user, storage, sent, url)

    # discovery, then straight to the token: no registration
    assert sent[:5] == [
        f"POST {mcp_server.url} -> 401",
        f"GET {mcp_server.metadata_url} -> 200",
        f"GET {bridge.url}/.well-known/oauth-authorization-server -> 200",
        f"POST {bridge.url}/token -> 200",
        f"POST {mcp_server.url} -> 200",
    ], sent
    assert not any("/register" in line for line in sent)

    # what the SDK's CIMD branch stored: the URL as a public client's id
    [client] = storage.saved_clients
    assert client.client_id == url
    assert client.client_secret is None
    assert client.token_endpoint_auth_method == "none"

    # the authorization request and the token carry the URL as the client id
    [authorization_url] = user.authorization_urls
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
    assert authorization_url.startswith(f"{bridge.url}/authorize?")
    assert query["client_id"] == url
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["resource"] == mcp_server.url
    assert query["code_challenge_method"] == "S256"
    assert storage.tokens is not None
    claims = json.loads(_b64(storage.tokens.access_token.split(".")[1]))
    assert claims["client_id"] == url
    assert claims["aud"] == [mcp_server.url]

    assert_real_rows(result, mcp_server)
    # the bridge fetched the document over https, and stored no registered client
    assert HTTPS_DOCUMENT_PATH in https_client.fetches()
    assert url in bridge.fetched_documents()
    assert bridge.registered_clients() == []
    assert bridge.signed_in_clients()[before:] == [url]


def assert_real_rows(result: dict[str, Any], mcp_server: McpServer) -> None:
    """The tools, with real rows from the emulator through the bridge's proxy."""
    assert result["tools"] == ["get_resource", "search_resources"]
    found = result["search_resources"]
    assert found["total"] >= len(found["resources"]) > 0
    for row in found["resources"]:
        assert re.fullmatch(r"[0-9a-f]{24}", row["id"])
        assert "logo" in (row["name"].lower() + " " + " ".join(row["tags"]))
        assert isinstance(row["size"], int)
        assert row["type"]
        assert row["last_update"]
    updates = [row["last_update"] for row in found["resources"]]
    assert updates == sorted(updates, reverse=True)
    assert result["get_resource"] == found["resources"][0]
    assert result["missing"]["is_error"] is True
    assert "Not found" in str(result["missing"]["text"])
    assert "Traceback" not in mcp_server.logs()


def _b64(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
