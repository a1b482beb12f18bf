"""An MCP host on the official MCP TypeScript SDK signs in through the bridge and calls a tool of
examples/mcp_server, with the SDK's own OAuth client (tests/interop/node/mcp_client.mjs): the
401, RFC 9728 and RFC 8414 discovery, the client's registration, PKCE, the token exchange with
the server's RFC 8707 resource. The test plays the user's browser (flow.browser_sign_in) and
hands the redirect back to the program.

One test per way an MCP client gets a client id (MCP specification 2025-11-25, "Client
Registration Approaches"): the bridge's pre-registered public client, a Client ID Metadata
Document served over https on loopback (the `https_client` fixture: a test CA that a bridge of
its own trusts), and RFC 7591 dynamic client registration."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from flow import browser_sign_in
from node_client import NodeClient
from servers import HTTPS_DOCUMENT_PATH, Bridge, Emulator, HttpsClientDocument, McpServer

CLIENT_ID = "mcp-public-client"
REDIRECT_URI = "http://127.0.0.1:53682/callback"  # never listened on: the test reads the redirect


def sign_in_with_node_client(
    node_client: NodeClient, emulator: Emulator, mcp_server: McpServer, *args: str
) -> dict[str, Any]:
    """Run the Node client on `mcp_server`; open the authorization URL it prints as the user's
    browser would, sign in, and give it the redirect URL. Returns its final line, which must
    be a result (its error, if any, is the failure message)."""
    with node_client.run(mcp_server.url, "--redirect-uri", REDIRECT_URI, *args) as run:
        first = run.next_message()
        assert "error" not in first, f"{first['error']}\n{run.stderr()}"
        authorization_url = first["authorize"]
        with httpx.Client(timeout=10) as browser:
            redirect_to = browser_sign_in(browser, authorization_url, emulator.platform_url)
        assert redirect_to.startswith(REDIRECT_URI + "?"), redirect_to
        run.send(redirect_to)
        last = run.next_message()
        assert "error" not in last, f"{last['error']}\n{run.stderr()}"
        assert run.process.wait(timeout=30) == 0, run.stderr()
    assert last["authorization_url"] == authorization_url
    return last


def assert_signed_in_and_called(
    out: dict[str, Any], bridge: Bridge, mcp_server: McpServer, client_id: str
) -> None:
    """What every registration path ends in: an authorization request with PKCE for this
    server, a token for this server alone, and real rows from the emulator (which the server reads
through the proxy with a token it got by RFC 8693 token exchange)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(out["authorization_url"]).query).items()}
    assert out["authorization_url"].startswith(f"{bridge.url}/authorize?")
    assert query["client_id"] == client_id
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["resource"] == mcp_server.url
    assert query["scope"] == "ib.read"
    assert query["code_challenge_method"] == "S256"
    assert query["state"]

    claims = out["access_token_claims"]
    assert claims["client_id"] == client_id
    assert claims["aud"] == [mcp_server.url]  # for this server alone: no passthrough
    assert claims["iss"] == bridge.url

    assert out["tools"] == ["get_resource", "search_resources"]
    result = out["result"]
    assert result.get("isError") is not True, result
    found = result["structuredContent"]
    assert found["total"] >= len(found["resources"]) > 0
    assert len(found["resources"]) <= 3
    for row in found["resources"]:
        assert re.fullmatch(r"[0-9a-f]{24}", row["id"])
        assert "logo" in (row["name"].lower() + " " + " ".join(row["tags"]))
        assert isinstance(row["size"], int)
        assert row["type"]
        assert row["last_update"]
    assert json.loads(result["content"][0]["text"]) == found
    assert "Traceback" not in mcp_server.logs()


def discovery(bridge: Bridge, mcp_server: McpServer) -> list[str]:
    """The SDK's first requests: the MCP request answered 401, the RFC 9728 metadata at the
    URL from the challenge, the bridge's RFC 8414 metadata."""
    return [
        f"POST {mcp_server.url} -> 401",
        f"GET {mcp_server.metadata_url} -> 200",
        f"GET {bridge.url}/.well-known/oauth-authorization-server -> 200",
    ]


def test_pre_registered_client(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer, node_client: NodeClient
) -> None:
    before = len(bridge.signed_in_clients())
    out = sign_in_with_node_client(node_client, emulator, mcp_server, "--client-id", CLIENT_ID)

    assert out["mode"] == "pre-registered"
    assert out["requests"][:5] == [
        *discovery(bridge, mcp_server),
        f"POST {bridge.url}/token -> 200",
        f"POST {mcp_server.url} -> 200",
    ], out["requests"]
    assert not any("/register" in line for line in out["requests"])
    assert_signed_in_and_called(out, bridge, mcp_server, CLIENT_ID)
    assert bridge.signed_in_clients()[before:] == [CLIENT_ID]


def test_dynamic_client_registration(
    bridge: Bridge, emulator: Emulator, mcp_server: McpServer, node_client: NodeClient
) -> None:
    """No client id and no metadata document: the SDK registers (RFC 7591) at the
    registration_endpoint of the bridge's metadata, then signs in with the client it got."""
    before = len(bridge.signed_in_clients())
    out = sign_in_with_node_client(node_client, emulator, mcp_server)

    assert out["mode"] == "dynamic-registration"
    assert out["requests"][:6] == [
        *discovery(bridge, mcp_server),
        f"POST {bridge.url}/register -> 201",
        f"POST {bridge.url}/token -> 200",
        f"POST {mcp_server.url} -> 200",
    ], out["requests"]
    registered = out["client_id"]
    assert registered
    assert registered != CLIENT_ID
    assert out["saved_client_information"][0]["client_id"] == registered
    assert_signed_in_and_called(out, bridge, mcp_server, registered)
    assert bridge.signed_in_clients()[before:] == [registered]


def test_client_id_metadata_document(
    emulator: Emulator, node_client: NodeClient, https_client: HttpsClientDocument
) -> None:
    """The client id is the https URL of the client's metadata document, which mcp_client.mjs
    hands to the SDK as its own `clientMetadataUrl`: the SDK sees the bridge's
    client_id_metadata_document_supported and uses the URL instead of registering, and the
    bridge (which trusts the document server's test CA) fetches the document."""
    bridge, mcp_server, url = https_client.bridge, https_client.mcp_server, https_client.url
    assert https_client.document["redirect_uris"] == [REDIRECT_URI]
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server").json()
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["registration_endpoint"] == f"{bridge.url}/register"  # DCR was on offer

    before = len(bridge.signed_in_clients())
    out = sign_in_with_node_client(
        node_client, emulator, mcp_server, "--client-metadata-url", url
    )

    assert out["mode"] == "client-id-metadata-document"
    assert out["requests"][:5] == [
        *discovery(bridge, mcp_server),
        f"POST {bridge.url}/token -> 200",
        f"POST {mcp_server.url} -> 200",
    ], out["requests"]
    assert not any("/register" in line for line in out["requests"])
    # what the SDK's SEP-991 branch saved: the URL as the client id, bound to this issuer
    assert out["saved_client_information"][0] == {"client_id": url, "issuer": bridge.url}
    assert out["client_id"] == url
    assert_signed_in_and_called(out, bridge, mcp_server, url)
    # the bridge fetched the document over https (the Node client never does), and stored no
    # registered client: it saw no POST /register
    assert HTTPS_DOCUMENT_PATH in https_client.fetches()
    assert url in bridge.fetched_documents()
    assert bridge.registered_clients() == []
    assert bridge.signed_in_clients()[before:] == [url]
