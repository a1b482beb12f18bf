"""A third-party ASGI app protected by the bridge: Starlette's AuthenticationMiddleware with the
bridge's exported backend, keys fetched from /jwks.json, and its own audience (RFC 8707)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flow import authorize, exchange
from ib_oauth_bridge import (
    AccessTokenVerifier,
    BearerTokenBackend,
    RemoteJWKS,
    TokenUser,
    on_auth_error,
)
from servers import Bridge, Emulator, free_port


@requires("ib.read")
async def whoami(request: Request) -> JSONResponse:
    user: TokenUser = request.user
    return JSONResponse({"sub": user.identity, "scopes": sorted(request.auth.scopes)})


@pytest.fixture(scope="module")
def resource_server(bridge: Bridge) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    verifier = AccessTokenVerifier(RemoteJWKS(f"{bridge.url}/jwks.json"), issuer=bridge.url,
                                   audience=url)
    app = Starlette(
        routes=[Route("/mcp", whoami)],
        middleware=[Middleware(AuthenticationMiddleware, backend=BearerTokenBackend(verifier),
                               on_error=on_auth_error(f"http://127.0.0.1:{port}/.well-known/"
                                                      "oauth-protected-resource/mcp"))],
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


def test_token_for_this_resource_is_accepted(bridge: Bridge, emulator: Emulator,
                                             resource_server: str) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url,
                                            resource=resource_server)).json()
    answer = httpx.get(resource_server,
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["scopes"] == ["ib.read", "ib.write"]


def test_token_for_another_audience_is_refused(bridge: Bridge, emulator: Emulator,
                                               resource_server: str) -> None:
    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
    answer = httpx.get(resource_server,
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert "resource_metadata=" in challenge


def test_no_token_gets_the_discovery_challenge(resource_server: str) -> None:
    answer = httpx.get(resource_server)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer resource_metadata=")
