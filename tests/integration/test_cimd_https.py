"""A Client ID Metadata Document client over real sockets: the document is served over https on
loopback with a test CA (trustme), which a bridge process trusts through IB_BRIDGE_DEV_CA_FILE,
as the MCP SDKs accept only https client-metadata URLs."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
import trustme
from mcp.client.auth.utils import is_valid_client_metadata_url

from docserver import DocumentServer
from flow import LOOPBACK_REDIRECT, authorize, authorize_url, exchange, pkce_pair, refresh
from servers import Bridge, Emulator, bridge_env, free_port

DOCUMENT_PATH = "/oauth/client.json"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def document_server(ca: trustme.CA) -> Iterator[DocumentServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with DocumentServer(context) as server:
        yield server


@pytest.fixture(scope="module")
def trusting_bridge(
    ca: trustme.CA, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    data_dir = tmp_path_factory.mktemp("cimd-bridge")
    ca_file = data_dir / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    server = Bridge(
        port, data_dir, bridge_env(port, emulator, data_dir, IB_BRIDGE_DEV_CA_FILE=str(ca_file))
    )
    server.start()
    yield server
    server.stop()


def test_an_https_metadata_document_client_signs_in(
    trusting_bridge: Bridge, emulator: Emulator, document_server: DocumentServer
) -> None:
    client_id = document_server.serve_document(
        DOCUMENT_PATH,
        client_name="Loopback Agent",
        redirect_uris=["http://127.0.0.1/callback"],
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    assert client_id.startswith("https://127.0.0.1:")
    assert is_valid_client_metadata_url(client_id)  # what the MCP Python SDK accepts

    authorized = authorize(
        trusting_bridge.url,
        emulator.platform_url,
        client_id=client_id,
        redirect_uri=LOOPBACK_REDIRECT,
    )
    tokens = exchange(trusting_bridge.url, authorized)
    assert tokens.status_code == 200, tokens.text
    rotated = refresh(trusting_bridge.url, tokens.json()["refresh_token"], client_id=client_id)
    assert rotated.status_code == 200, rotated.text
    metadata = httpx.get(f"{trusting_bridge.url}/.well-known/oauth-authorization-server").json()
    assert metadata["client_id_metadata_document_supported"] is True


def test_without_the_ca_the_document_is_refused_with_a_page(
    bridge: Bridge, document_server: DocumentServer
) -> None:
    """The session's bridge does not trust the test CA: the page says so, nothing redirects."""
    client_id = document_server.serve_document("/untrusted.json", redirect_uris=[LOOPBACK_REDIRECT])
    _, challenge = pkce_pair()
    page = httpx.get(
        authorize_url(bridge.url, client_id=client_id, challenge=challenge, state="s"), timeout=10
    )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "no valid TLS certificate" in page.text
