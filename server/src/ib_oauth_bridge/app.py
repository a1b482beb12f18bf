"""`create_app`: the bridge as an ASGI application, routed from openapi.yaml.

Use `create_app(settings)` from code, or point any ASGI server at the factory
`ib_oauth_bridge.app:create_app_from_env` (uvicorn: `--factory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import BearerTokenBackend, on_auth_error
from .bridge import Bridge
from .clock import Clock, system_clock
from .edge import IssuerHost, StrictTransportSecurity
from .errors import BridgeError
from .forwarded import TrustedProxies
from .handlers import HANDLERS, PROXY_OPERATIONS
from .handlers.errors import bridge_error, http_error, server_error, store_unavailable
from .handlers.header_limits import HeaderLimits
from .housekeeping import purge_periodically
from .logs import configure_logging
from .metrics import OperationIds, OperationProbe, RequestMetrics
from .request_ids import RequestIds
from .routing import build_routes, load_spec
from .settings import Settings
from .store import Store, StoreUnavailable

log = logging.getLogger("ib_oauth_bridge")
CORS_PATHS = (
    "/token",
    "/revoke",
    "/register",
    "/userinfo",
    "/proxy/",
    "/.well-known/",
    "/jwks.json",
)


class OwnAnswersGZip:
    """Starlette's GZipMiddleware for the bridge's own answers (metadata, tokens, pages), never
    for the proxy's: IB's bodies and their Content-Encoding pass through as IB sent them."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1000) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/proxy/"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class PathCORS:
    """Starlette's CORSMiddleware, applied only to the paths browser apps call."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["*"],
            allow_headers=["authorization", "content-type", "accept"],
            expose_headers=[
                "www-authenticate",
                "content-length",
                "content-disposition",
                "retry-after",
                "x-request-id",
            ],
            max_age=600,
        )
        self.enabled = bool(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.enabled and scope["type"] == "http" and path.startswith(CORS_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock = system_clock,
    ib_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The bridge as an ASGI app. `store`, `clock` and `ib_transport` are for tests: a store
    of their own, a clock they move, and IB reached without the network."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    bridge = Bridge.from_settings(settings, store=store, clock=clock, ib_transport=ib_transport)
    bearer = Middleware(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(bridge.verifier, bridge.load_session),
        on_error=on_auth_error(bridge.resource_metadata_url),
    )
    # /userinfo also takes OpenID sign-ins for other resources (oauth.tokens.UserinfoVerifier).
    userinfo_bearer = Middleware(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(bridge.oauth.userinfo_verifier, bridge.load_session),
        on_error=on_auth_error(bridge.resource_metadata_url),
    )
    protected = {"userinfo": [userinfo_bearer]} | {name: [bearer] for name in PROXY_OPERATIONS}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        purged = await bridge.store.purge_expired()
        log.info(
            "bridge started",
            extra={"issuer": settings.issuer, "dev_mode": settings.dev_mode, "purged": purged},
        )
        purging = asyncio.create_task(
            purge_periodically(bridge.store, settings.purge_interval), name="purge"
        )
        try:
            yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            await bridge.aclose()
            log.info("bridge stopped")

    app = Starlette(
        routes=build_routes(load_spec(), HANDLERS, protected),
        middleware=[
            Middleware(TrustedProxies, proxies=settings.trusted_proxies),
            Middleware(RequestIds),
            Middleware(RequestMetrics, metrics=bridge.metrics, tracing=bridge.tracing),
            Middleware(
                HeaderLimits,
                max_value_bytes=settings.max_header_value_bytes,
                max_total_bytes=settings.max_header_bytes,
                max_count=settings.max_header_count,
            ),
            *(
                [Middleware(StrictTransportSecurity)]
                if settings.secure_cookies and not settings.dev_mode
                else []
            ),
            Middleware(IssuerHost, issuer=settings.issuer, dev_mode=settings.dev_mode),
            Middleware(PathCORS, origins=settings.cors_origins),
            Middleware(OwnAnswersGZip),
            Middleware(OperationProbe, operation_ids=OperationIds(load_spec())),
        ],
        exception_handlers={
            BridgeError: bridge_error,
            HTTPException: http_error,
            StoreUnavailable: store_unavailable,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.bridge = bridge
    return app


def create_app_from_env() -> Starlette:
    """The ASGI factory for any server: settings from IB_BRIDGE_* variables."""
    return create_app(Settings.from_env())
