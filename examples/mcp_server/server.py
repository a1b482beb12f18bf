"""An MCP server for IntelligenceBank, protected by the IB OAuth Bridge.

    python examples/mcp_server/server.py --port 8003 --bridge-url http://127.0.0.1:8000

The MCP endpoint is ``http://127.0.0.1:8003/mcp`` (streamable HTTP, from the official `mcp` SDK).
Authorization is the bridge's: the server publishes RFC 9728 metadata naming the bridge as its
authorization server, and checks every request to ``/mcp`` with Starlette's
`AuthenticationMiddleware` and the bridge package's exported `BearerTokenBackend`, whose
`AccessTokenVerifier` takes the bridge's keys from its ``jwks_uri`` and demands this server's own
URL in the token's audience (RFC 8707). A token the bridge issued for anything else - such as a
plain proxy token - is refused with 401.

The server has its own confidential client at the bridge (``--client-id``, and the secret in the
environment variable ``MCP_SERVER_CLIENT_SECRET``), configured there with ``"introspect": true``,
``"token_exchange": true`` and ``"resource"``: this server's URL. With it the server

- asks the bridge's RFC 7662 introspection endpoint whether each token is still live (answers
  cached for a few seconds), so a user who signs out or is revoked gets 401 ``invalid_token`` here
  at once and the MCP client signs in again (the 401 challenge names the scope the tools need);
- calls IntelligenceBank for the user without passing the user's token on: the token the MCP
  client sent is for this server alone (``aud = [<this server>]``; the MCP authorization spec
  forbids token passthrough, and the bridge's proxy refuses such a token). The tools exchange it
  at the bridge's token endpoint (RFC 8693 token exchange) for a proxy token that names this
  server in ``act``, cache that per sign-in until it expires, and call the bridge's ``/userinfo``
  and proxy with it. No IB session id ever reaches this process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ib_oauth_bridge import (
    AccessTokenVerifier,
    BearerTokenBackend,
    RemoteJWKS,
    TokenIntrospector,
    TokenUser,
    on_auth_error,
)

SCOPE = "ib.read"
"""What a token needs for this server's tools (the bridge's read scope)."""

MAX_LIMIT = 100
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
EXPIRY_MARGIN = 30.0  # seconds: a cached proxy token this close to its end is renewed
MAX_CACHED = 10_000
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# -- the bridge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeEndpoints:
    """What this server needs from the bridge's RFC 8414 metadata."""

    issuer: str
    jwks_uri: str
    userinfo_endpoint: str
    token_endpoint: str
    introspection_endpoint: str | None = None
    exchanges_tokens: bool = False  # RFC 8693 in grant_types_supported

    @property
    def proxy_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/proxy"


def discover_bridge(bridge_url: str, *, timeout: float = 10.0) -> BridgeEndpoints:
    """Fetch the bridge's metadata; its `issuer` must be `bridge_url` (RFC 8414 3.3)."""
    base = bridge_url.rstrip("/")
    answer = httpx.get(f"{base}/.well-known/oauth-authorization-server", timeout=timeout)
    answer.raise_for_status()
    document = answer.json()
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != base:
        raise RuntimeError(f"the bridge at {base} names the issuer {issuer!r}")
    names = ("jwks_uri", "userinfo_endpoint", "token_endpoint")
    endpoints = {name: document.get(name) for name in names}
    if not all(isinstance(value, str) for value in endpoints.values()):
        raise RuntimeError(f"the bridge's metadata lacks one of {', '.join(names)}: {document}")
    introspection = document.get("introspection_endpoint")
    grant_types = document.get("grant_types_supported")
    return BridgeEndpoints(
        issuer,
        str(endpoints["jwks_uri"]),
        str(endpoints["userinfo_endpoint"]),
        str(endpoints["token_endpoint"]),
        introspection if isinstance(introspection, str) else None,
        isinstance(grant_types, list) and TOKEN_EXCHANGE in grant_types,
    )


# -- tool results -------------------------------------------------------------------------------


class ResourceSummary(BaseModel):
    """One IntelligenceBank resource, in brief."""

    id: str
    name: str
    type: str | None = Field(None, description="file type (extension), e.g. 'png'")
    size: int | None = Field(None, description="file size in bytes")
    last_update: str | None = Field(None, description="last update time (ISO 8601)")
    folder: str | None = None
    tags: list[str] = Field(default_factory=list)


class SearchResults(BaseModel):
    """A page of matching resources, newest first."""

    total: int = Field(description="how many resources match in all")
    resources: list[ResourceSummary]


def summarize(row: Mapping[str, Any]) -> ResourceSummary:
    file = row.get("file")
    file = file if isinstance(file, Mapping) else {}
    size = file.get("size")
    tags = row.get("tags")
    return ResourceSummary(
        id=str(row.get("_id", "")),
        name=str(row.get("name", "")),
        type=_text(file.get("type")),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        last_update=_text(row.get("lastUpdateTime")),
        folder=_text(row.get("folder")),
        tags=[str(tag) for tag in tags] if isinstance(tags, list) else [],
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# -- IntelligenceBank through the bridge's proxy ------------------------------------------------


@dataclass
class ProxyToken:
    """A proxy token from a token exchange, and when it expires (this process's clock)."""

    access_token: str
    expires_at: float


@dataclass
class IBThroughBridge:
    """Calls the IB v3 API through the bridge's proxy for the caller: with a proxy token got by
    exchanging the caller's token (RFC 8693) as this server's client, never with the caller's
    token itself."""

    bridge: BridgeEndpoints
    client: tuple[str, str]  # this server's client id and secret at the bridge
    http: httpx.AsyncClient | None = None
    # grant id -> the proxy token exchanged for that sign-in, until it expires
    _proxy_tokens: dict[str, ProxyToken] = field(default_factory=dict)
    # grant id -> IB client id (a sign-in belongs to one IB tenant)
    _client_ids: dict[str, str] = field(default_factory=dict)

    async def get(self, user: TokenUser, subject_token: str, path: str) -> dict[str, Any]:
        token = await self.proxy_token(user, subject_token)
        client_id = await self._client_id(user, token)
        url = f"{self.bridge.proxy_url}/api/3.0.0/{client_id}/{path}"
        answer = await self._http().get(url, headers=_headers(token))
        if answer.status_code == 401:
            self._proxy_tokens.pop(user.claims.grant_id, None)
            raise ToolError("The IntelligenceBank sign-in has ended: reconnect to sign in again.")
        if answer.status_code == 404:
            raise ToolError("Not found in IntelligenceBank.")
        if answer.status_code >= 400:
            raise ToolError(f"IntelligenceBank answered {answer.status_code}: {_message(answer)}")
        document = answer.json()
        if not isinstance(document, dict):
            raise ToolError("IntelligenceBank's answer is not a JSON object.")
        return document

    async def proxy_token(self, user: TokenUser, subject_token: str) -> str:
        """A proxy token for the caller's sign-in: the cached one while it lasts, else a new
        one from the bridge's token endpoint (RFC 8693), exchanging the caller's token."""
        grant = user.claims.grant_id
        cached = self._proxy_tokens.get(grant) if grant else None
        if cached is not None and cached.expires_at - EXPIRY_MARGIN > time.time():
            return cached.access_token
        answer = await self._http().post(
            self.bridge.token_endpoint,
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "resource": self.bridge.proxy_url,
            },
            auth=self.client,
            headers={"Accept": "application/json"},
        )
        if answer.status_code != 200:
            raise ToolError(
                f"The bridge refused to exchange the token ({answer.status_code}: "
                f"{_message(answer)}): reconnect to sign in again."
            )
        body = answer.json()
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise ToolError("The bridge's token exchange answer has no access token.")
        if grant:
            if len(self._proxy_tokens) >= MAX_CACHED:
                now = time.time()
                self._proxy_tokens = {
                    g: t for g, t in self._proxy_tokens.items() if t.expires_at > now
                }
                if len(self._proxy_tokens) >= MAX_CACHED:
                    self._proxy_tokens.clear()
            self._proxy_tokens[grant] = ProxyToken(token, time.time() + expires_in)
        return token

    async def _client_id(self, user: TokenUser, token: str) -> str:
        grant = user.claims.grant_id
        if grant and grant in self._client_ids:
            return self._client_ids[grant]
        answer = await self._http().get(self.bridge.userinfo_endpoint, headers=_headers(token))
        if answer.status_code != 200:
            raise ToolError(f"The bridge's /userinfo answered {answer.status_code}.")
        client_id = answer.json().get("ib_client_id")
        if not isinstance(client_id, str) or not _ID.fullmatch(client_id):
            raise ToolError("The bridge's /userinfo names no IntelligenceBank client id.")
        if grant:
            if len(self._client_ids) > 10_000:
                self._client_ids.clear()
            self._client_ids[grant] = client_id
        return client_id

    def _http(self) -> httpx.AsyncClient:
        if self.http is None:
            raise RuntimeError("the HTTP client is opened by the app's lifespan")
        return self.http


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.reason_phrase
    if isinstance(body, dict):
        for key in ("error_description", "message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return answer.reason_phrase


def caller(ctx: Context[Any, Request]) -> tuple[TokenUser, str]:
    """The authenticated user and the bearer token of the HTTP request carrying this tool call.

    `AuthenticationMiddleware` has already verified that token (this server's audience); it is
    what the tools exchange for a proxy token (never what they send to the proxy).
    """
    request = ctx.request_context.request
    if not isinstance(request, Request) or not isinstance(request.scope.get("user"), TokenUser):
        raise ToolError("This tool needs an authenticated HTTP request.")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ToolError("This tool needs an authenticated HTTP request.")
    user: TokenUser = request.user
    return user, token.strip()


# -- the MCP server -----------------------------------------------------------------------------


def build_mcp(ib: IBThroughBridge) -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer(
        "intelligencebank",
        title="IntelligenceBank",
        instructions="Search and inspect IntelligenceBank resources (digital assets) of the "
        "signed-in user.",
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=True)

    @mcp.tool(annotations=read_only)
    async def search_resources(
        keywords: str, ctx: Context[Any, Request], limit: int = 10
    ) -> SearchResults:
        """Search IntelligenceBank resources by keywords (in names and tags), newest first.

        Returns up to `limit` (1-100) resources with their id, name, file type, size in bytes,
        last update time, folder and tags, and how many match in all.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ToolError(f"limit must be from 1 to {MAX_LIMIT}")
        user, token = caller(ctx)
        call = f"resource.limit(0,{limit}).order(lastUpdateTime:-1)"
        query = f"searchParams[keywords]={quote(keywords, safe='')}"
        document = await ib.get(user, token, f"{call}?{query}")
        body = document.get("response")
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(rows, list):
            raise ToolError("IntelligenceBank's answer has no list of resources.")
        count = body.get("count")
        resources = [summarize(row) for row in rows if isinstance(row, dict)]
        total = count if isinstance(count, int) and not isinstance(count, bool) else len(rows)
        return SearchResults(total=total, resources=resources)

    @mcp.tool(annotations=read_only)
    async def get_resource(resource_id: str, ctx: Context[Any, Request]) -> ResourceSummary:
        """One IntelligenceBank resource by its id (from search_resources)."""
        if not _ID.fullmatch(resource_id):
            raise ToolError("resource_id must be a resource id from search_resources")
        user, token = caller(ctx)
        document = await ib.get(user, token, f"resource/{resource_id}")
        row = document.get("response", document)
        if not isinstance(row, dict):
            raise ToolError("IntelligenceBank's answer has no resource.")
        return summarize(row)

    return mcp


# -- authorization ------------------------------------------------------------------------------


class RequireScope:
    """403 ``insufficient_scope`` (RFC 6750 3.1) for an authenticated request without `scope`;
    runs inside `AuthenticationMiddleware`, which has set ``scope["auth"]``."""

    def __init__(self, app: ASGIApp, scope: str, resource_metadata: str) -> None:
        self.app = app
        self.scope = scope
        self.resource_metadata = resource_metadata

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = scope.get("auth")
        if scope["type"] == "http" and (auth is None or self.scope not in auth.scopes):
            challenge = (
                f'Bearer error="insufficient_scope", scope="{self.scope}", '
                f'resource_metadata="{self.resource_metadata}"'
            )
            response = JSONResponse(
                {"error": "insufficient_scope", "error_description": f"Needs {self.scope}."},
                status_code=403,
                headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def metadata_url(resource_url: str) -> str:
    """RFC 9728 3.1: the well-known segment goes between the host and the resource's path."""
    parts = urlsplit(resource_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"


def create_app(
    bridge_url: str,
    resource_url: str,
    *,
    bridge: BridgeEndpoints | None = None,
    bind_host: str = "127.0.0.1",
    client: tuple[str, str],
    introspection_cache: float = 5.0,
) -> Starlette:
    """The ASGI app: RFC 9728 metadata (open) and the MCP endpoint (bearer tokens for
    `resource_url`, checked with the bridge's `BearerTokenBackend` and introspection). `client`
    (id, secret) is this server's client at the bridge: it introspects and exchanges tokens."""
    bridge = bridge or discover_bridge(bridge_url)
    if not bridge.exchanges_tokens:
        raise RuntimeError("the bridge does not advertise RFC 8693 token exchange")
    if bridge.introspection_endpoint is None:
        raise RuntimeError("the bridge does not advertise an introspection_endpoint")
    path = urlsplit(resource_url).path or "/"
    resource_metadata = metadata_url(resource_url)
    ib = IBThroughBridge(bridge, client)
    mcp = build_mcp(ib)
    # The SDK's own streamable-HTTP app (a Starlette app serving `path`), without its auth
    # plumbing; DNS-rebinding protection is on when bound to loopback.
    mcp_http = mcp.streamable_http_app(streamable_http_path=path, host=bind_host)

    verifier = AccessTokenVerifier(
        RemoteJWKS(bridge.jwks_uri), issuer=bridge.issuer, audience=resource_url
    )
    introspector = TokenIntrospector(
        bridge.introspection_endpoint, *client, cache_seconds=introspection_cache
    )
    protected = AuthenticationMiddleware(
        RequireScope(mcp_http, SCOPE, resource_metadata),
        backend=BearerTokenBackend(verifier, introspector=introspector),
        on_error=on_auth_error(resource_metadata, SCOPE),
    )

    async def protected_resource_metadata(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "resource": resource_url,
                "authorization_servers": [bridge.issuer],
                "scopes_supported": [SCOPE],
                "bearer_methods_supported": ["header"],
                "resource_name": "IntelligenceBank (MCP)",
            },
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http,
            mcp.session_manager.run(),
        ):
            ib.http = http
            yield
            ib.http = None
            await introspector.aclose()

    well_known = "/.well-known/oauth-protected-resource"
    metadata_paths = dict.fromkeys([urlsplit(resource_metadata).path, well_known])
    return Starlette(
        routes=[
            *(Route(p, protected_resource_metadata, methods=["GET"]) for p in metadata_paths),
            Route(path, protected),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument(
        "--bridge-url", default="http://127.0.0.1:8000", help="the bridge's issuer URL"
    )
    parser.add_argument(
        "--resource-url",
        default=None,
        help="this server's public MCP URL (default http://127.0.0.1:PORT/mcp)",
    )
    parser.add_argument(
        "--client-id",
        required=True,
        help="this server's confidential client at the bridge, to introspect and exchange "
        "tokens (its secret comes from the environment variable MCP_SERVER_CLIENT_SECRET)",
    )
    parser.add_argument(
        "--introspection-cache",
        type=float,
        default=5.0,
        help="seconds an introspection answer is reused for the same token (default 5)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    secret = os.environ.get("MCP_SERVER_CLIENT_SECRET", "")
    if not secret:
        print("--client-id needs MCP_SERVER_CLIENT_SECRET in the environment", file=sys.stderr)
        return 2
    client = (args.client_id, secret)
    resource_url = args.resource_url or f"http://127.0.0.1:{args.port}/mcp"
    try:
        bridge = discover_bridge(args.bridge_url)
    except (httpx.HTTPError, ValueError, RuntimeError) as exc:
        print(f"cannot use the bridge at {args.bridge_url}: {exc}", file=sys.stderr)
        return 1
    try:
        app = create_app(
            args.bridge_url,
            resource_url,
            bridge=bridge,
            bind_host=args.host,
            client=client,
            introspection_cache=args.introspection_cache,
        )
    except RuntimeError as exc:
        print(f"cannot use the bridge at {args.bridge_url}: {exc}", file=sys.stderr)
        return 1
    print(
        f"MCP server for IntelligenceBank at {resource_url} (authorization: {bridge.issuer})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
