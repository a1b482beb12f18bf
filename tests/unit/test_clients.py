"""The well-known public client's redirect URIs: the known MCP hosts' callbacks matched exactly,
loopback on any port, operator additions; lookalikes refused. And the names of the known hosts."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from ib_oauth_bridge.app import create_app
from ib_oauth_bridge.oauth.clients import (
    KNOWN_HOST_CALLBACKS,
    MCP_PUBLIC_CLIENT_ID,
    Client,
    ClientLookup,
    known_host_name,
)
from ib_oauth_bridge.oauth.keys import generate_signing_key
from ib_oauth_bridge.settings import Settings, SettingsError, parse_clients

ACCEPTED = [
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://vscode.dev/redirect",
    "https://insiders.vscode.dev/redirect",
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://www.cursor.com/agents/mcp/oauth/callback",
    "http://127.0.0.1:53682/callback",
    "http://localhost:1/",
    "http://[::1]:8080/cb",
]

REFUSED = [
    # Lookalike hosts.
    "https://chatgpt.com.evil.example/connector_platform_oauth_redirect",
    "https://evil.example/https://chatgpt.com/connector_platform_oauth_redirect",
    "https://chatgpt.co/connector_platform_oauth_redirect",
    "https://vscode.dev.evil.example/redirect",
    "https://evil-vscode.dev/redirect",
    "https://cursor.com/agents/mcp/oauth/callback",  # www. is part of the exact callback
    # Trailing slash, other paths, queries, fragments, userinfo, ports.
    "https://chatgpt.com/connector_platform_oauth_redirect/",
    "https://vscode.dev/redirect/",
    "https://vscode.dev/redirect2",
    "https://vscode.dev/",
    "https://claude.ai/api/mcp/auth_callback?x=1",
    "https://claude.ai/api/mcp/auth_callback#frag",
    "https://user@claude.ai/api/mcp/auth_callback",
    "https://claude.ai:8443/api/mcp/auth_callback",
    "cursor://anysphere.cursor-mcp/oauth/callback/",
    "cursor://anysphere.cursor-mcp/oauth/other",
    "cursor://evil.cursor-mcp/oauth/callback",
    # http instead of https; other schemes.
    "http://chatgpt.com/connector_platform_oauth_redirect",
    "http://vscode.dev/redirect",
    "http://www.cursor.com/agents/mcp/oauth/callback",
    "wss://vscode.dev/redirect",
    # Case changes in the path (and the scheme's own spelling is matched exactly too).
    "https://chatgpt.com/Connector_Platform_OAuth_Redirect",
    "https://vscode.dev/Redirect",
    "https://claude.ai/API/mcp/auth_callback",
    "cursor://anysphere.cursor-mcp/OAuth/callback",
    # Loopback lookalikes.
    "http://127.0.0.1.evil.example/callback",
    "https://127.0.0.1:53682/callback",
    "http://localhost.evil.example/cb",
    "http://127.0.0.1:53682/callback#frag",
    "",
]


def public_client(extra: tuple[str, ...] = ()) -> Client:
    lookup = ClientLookup((), None, public_client_redirect_uris=extra)  # type: ignore[arg-type]
    client = asyncio.run(lookup.get(MCP_PUBLIC_CLIENT_ID))
    assert client is not None
    return client


@pytest.mark.parametrize("uri", ACCEPTED)
def test_known_callbacks_and_loopback_are_accepted(uri: str) -> None:
    assert (public_client()).check_redirect_uri(uri)


@pytest.mark.parametrize("uri", REFUSED)
def test_lookalikes_are_refused(uri: str) -> None:
    assert not (public_client()).check_redirect_uri(uri)


def test_operator_callbacks_are_added_exactly() -> None:
    client = public_client(("https://app.example/cb", "com.example.app:/oauth"))
    assert client.check_redirect_uri("https://app.example/cb")
    assert client.check_redirect_uri("com.example.app:/oauth")
    assert client.check_redirect_uri("https://vscode.dev/redirect")  # the built-in ones stay
    assert not client.check_redirect_uri("https://app.example/cb/")
    assert not client.check_redirect_uri("https://app.example/CB")
    assert not (public_client()).check_redirect_uri("https://app.example/cb")


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("https://claude.ai/api/mcp/auth_callback", "Claude"),
        ("https://claude.com/api/mcp/auth_callback", "Claude"),
        ("https://chatgpt.com/connector_platform_oauth_redirect", "ChatGPT"),
        ("https://vscode.dev/redirect", "VS Code"),
        ("https://insiders.vscode.dev/redirect", "VS Code"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "Cursor"),
        ("https://www.cursor.com/agents/mcp/oauth/callback", "Cursor"),
        ("https://chatgpt.com.evil.example/connector_platform_oauth_redirect", None),
        ("https://vscode.dev/redirect/", None),
        ("http://127.0.0.1:53682/callback", None),
        ("https://app.example/cb", None),
    ],
)
def test_known_host_name(uri: str, name: str | None) -> None:
    assert known_host_name(uri) == name


def test_every_known_callback_has_a_name() -> None:
    assert all(known_host_name(uri) for uri in KNOWN_HOST_CALLBACKS)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/callback",
        "https://app.example:8443/cb?x=1",
        "com.example.app:/oauth/callback",
        "com.example.app://callback",
        "io.github.some-app.beta:/cb",
    ],
)
def test_operator_redirect_uris_accepted(uri: str) -> None:
    settings = Settings.from_env({"IB_BRIDGE_DEV": "1", "IB_BRIDGE_PUBLIC_CLIENT_REDIRECT_URIS":
                                  f"{uri}, https://other.example/cb"})
    assert settings.public_client_redirect_uris == (uri, "https://other.example/cb")
    settings.check()


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://app.example/callback", "https://"),
        ("https:///callback", "needs a host"),
        ("https://app.example/cb#top", "fragment"),
        ("https://user:pw@app.example/cb", "user information"),
        ("https://user@app.example/cb", "user information"),
        ("myapp:/callback", "reverse-domain"),  # a private-use scheme must be reverse-domain
        ("cursor://anysphere.cursor-mcp/x", "reverse-domain"),
        ("javascript:alert(1)", "reverse-domain"),
        ("/relative/callback", "reverse-domain"),
        ("https://app.example:99999/cb", "not a valid URL"),
    ],
)
@pytest.mark.parametrize("dev", ["1", ""])
def test_bad_operator_redirect_uris_stop_the_start(uri: str, reason: str, dev: str) -> None:
    settings = Settings.from_env({"IB_BRIDGE_DEV": dev,
                                  "IB_BRIDGE_PUBLIC_CLIENT_REDIRECT_URIS": uri})
    with pytest.raises(SettingsError) as raised:
        settings.check()
    message = str(raised.value)
    assert "IB_BRIDGE_PUBLIC_CLIENT_REDIRECT_URIS" in message
    assert repr(uri) in message
    assert reason in message


# Configured clients (IB_BRIDGE_CLIENTS) -------------------------------------------------------

CONFIGURED_REFUSED = [
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "https://app.example/callback#fragment",
    "/callback",
    "app.example/callback",
    "http://app.example/callback",  # http off loopback
    "https://user@app.example/callback",
]


@pytest.mark.parametrize("uri", CONFIGURED_REFUSED)
def test_a_configured_client_with_a_bad_redirect_uri_stops_the_start(uri: str) -> None:
    raw = json.dumps([{"client_id": "web-app", "redirect_uris": ["https://ok.example/cb", uri]}])
    with pytest.raises(SettingsError) as refused:
        ClientLookup(parse_clients(raw), None)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "IB_BRIDGE_CLIENTS" in message
    assert "'web-app'" in message
    assert repr(uri) in message


def test_the_bridge_does_not_start_with_such_a_client(tmp_path: Path) -> None:
    raw = json.dumps([{"client_id": "web-app", "redirect_uris": ["javascript:alert(1)"]}])
    settings = Settings.from_env(
        {"IB_BRIDGE_DEV": "1", "IB_BRIDGE_CLIENTS": raw, "IB_BRIDGE_DATA_DIR": str(tmp_path)},
        signing_key=json.dumps(generate_signing_key().as_dict(private=True)),
        encryption_key=base64.urlsafe_b64encode(bytes(32)).decode(),
        cookie_secret="x" * 32,
    )
    with pytest.raises(SettingsError, match="javascript:alert"):
        create_app(settings)


@pytest.mark.parametrize(
    "uri",
    ["https://app.example/callback", "http://127.0.0.1:8080/cb", "com.example.app:/oauth"],
)
def test_configured_clients_with_good_redirect_uris_start(uri: str) -> None:
    raw = json.dumps([{"client_id": "web-app", "redirect_uris": [uri]}])
    lookup = ClientLookup(parse_clients(raw), None)  # type: ignore[arg-type]
    assert lookup.is_reserved("web-app")
