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


def returns_to(app: str, target: str) -> str:
    return (
        f'<strong class="redirect-app">{app}</strong> (<span class="return-host">{target}</span>)'
    )


@pytest.mark.parametrize(
    ("redirect_uri", "shown"),
    [
        ("https://claude.ai/api/mcp/auth_callback", returns_to("Claude", "claude.ai")),
        (
            "https://chatgpt.com/connector_platform_oauth_redirect",
            returns_to("ChatGPT", "chatgpt.com"),
        ),
        ("https://vscode.dev/redirect", returns_to("VS Code", "vscode.dev")),
        ("https://insiders.vscode.dev/redirect", returns_to("VS Code", "insiders.vscode.dev")),
        (
            "cursor://anysphere.cursor-mcp/oauth/callback",
            returns_to("Cursor", "cursor://anysphere.cursor-mcp"),
        ),
        (
            "https://www.cursor.com/agents/mcp/oauth/callback",
            returns_to("Cursor", "www.cursor.com"),
        ),
        ("http://127.0.0.1:9999/cb", '<strong class="return-host">127.0.0.1:9999</strong>'),
        # The operator's own callback: shown by its scheme, and named as no known host.
        ("com.example.app:/oauth", '<strong class="return-host">com.example.app:</strong>'),
    ],
)
async def test_known_callbacks_open_the_login_page(
    stack: Stack, redirect_uri: str, shown: str
) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(authorize_path(challenge, "s", redirect_uri=redirect_uri))
    assert page.status_code == 200, page.text
    assert shown in page.text
    if "redirect-app" not in shown:
        assert "redirect-app" not in page.text


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
