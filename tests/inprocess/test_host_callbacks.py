"""/authorize with the MCP hosts' callbacks: the known ones open the login page, which names the
host the user returns to; a lookalike gets the error page and never a redirect."""

from __future__ import annotations

from typing import Any

import pytest
from inprocess_flow import authorize_path, pkce_pair
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_client_redirect_uris": ("com.example.app:/oauth",)}


@pytest.mark.parametrize(
    ("redirect_uri", "shown"),
    [
        ("https://claude.ai/api/mcp/auth_callback", "Claude</strong> (claude.ai)"),
        ("https://chatgpt.com/connector_platform_oauth_redirect", "ChatGPT</strong> (chatgpt.com)"),
        ("https://vscode.dev/redirect", "VS Code</strong> (vscode.dev)"),
        ("https://insiders.vscode.dev/redirect", "VS Code</strong> (insiders.vscode.dev)"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "Cursor</strong> (anysphere.cursor-mcp)"),
        ("https://www.cursor.com/agents/mcp/oauth/callback", "Cursor</strong> (www.cursor.com)"),
        ("http://127.0.0.1:9999/cb", "<strong>127.0.0.1:9999</strong>"),
        ("com.example.app:/oauth", None),  # the operator's: no host to show, no name
    ],
)
async def test_known_callbacks_open_the_login_page(
    stack: Stack, redirect_uri: str, shown: str | None
) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(authorize_path(challenge, "s", redirect_uri=redirect_uri))
    assert page.status_code == 200, page.text
    if shown:
        assert shown in page.text
    else:
        assert "You'll return to" not in page.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://chatgpt.com.evil.example/connector_platform_oauth_redirect",
        "https://vscode.dev/redirect/",
        "http://vscode.dev/redirect",
        "https://www.cursor.com/agents/mcp/oauth/Callback",
        "com.example.app:/oauth/",
    ],
)
async def test_lookalikes_get_the_error_page(stack: Stack, redirect_uri: str) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(authorize_path(challenge, "s", redirect_uri=redirect_uri))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert page.headers["content-type"].startswith("text/html")
