"""An MCP host on the official MCP TypeScript SDK signs in through the bridge and calls a tool of
examples/mcp_server, with the SDK's own OAuth client (tests/interop/node/mcp_client.mjs): the
401, RFC 9728 and RFC 8414 discovery, the client's registration, PKCE, the token exchange with
the server's RFC 8707 resource. The test plays the user's browser (flow.browser_sign_in) and
hands the redirect back to the program.

One test per way an MCP client gets a client id (MCP specification 2025-11-25, "Client
Registration Approaches"): the bridge's pre-registered public client, a Client ID Metadata
Document that this test hosts on a loopback port, and RFC 7591 dynamic client registration."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from flow import browser_sign_in
from node_client import NodeClient
from servers import Bridge, Emulator, McpServer

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
    server, a token for this server and the bridge's proxy, and real rows from the emulator."""
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
    assert claims["aud"] == [mcp_server.url, f"{bridge.url}/proxy"]
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


@dataclass
class MetadataDocumentHost:
    """A Client ID Metadata Document served on a loopback port: its `client_id` is its own URL."""

    url: str
    document: dict[str, Any]
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)


@pytest.fixture
def client_metadata_document() -> Iterator[MetadataDocumentHost]:
    host: MetadataDocumentHost | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert host is not None
            host.requests.append(("GET", self.path))
            if urlsplit(self.path).path != urlsplit(host.url).path:
                self.send_error(404)
                return
            body = json.dumps(host.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=60")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/mcp-client/metadata.json"
    host = MetadataDocumentHost(
        url,
        {
            "client_id": url,
            "client_name": "MCP TypeScript SDK interop test",
            "client_uri": f"http://127.0.0.1:{server.server_address[1]}/mcp-client/",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_client_id_metadata_document(
    bridge: Bridge,
    emulator: Emulator,
    mcp_server: McpServer,
    node_client: NodeClient,
    client_metadata_document: MetadataDocumentHost,
) -> None:
    """The client id is the URL of the client's metadata document, which the bridge fetches
    (here a loopback http URL, which the bridge accepts in dev mode): no registration."""
    before = len(bridge.signed_in_clients())
    url = client_metadata_document.url
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
    assert out["client_id"] == url
    assert_signed_in_and_called(out, bridge, mcp_server, url)
    # the bridge fetched the document (the Node client never does)
    assert ("GET", urlsplit(url).path) in client_metadata_document.requests
    assert bridge.signed_in_clients()[before:] == [url]
