"""`create_app`: the bridge as an ASGI application, routed from openapi.yaml.

Use `create_app(settings)` from code, or point any ASGI server at the factory
`ib_oauth_bridge.app:create_app_from_env` (uvicorn: `--factory`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import BearerTokenBackend, on_auth_error
from .bridge import Bridge, bridge_of
from .ib.proxy import proxy
from .ib.session import session_loader
from .logs import configure_logging
from .oauth import authorize, endpoints
from .routing import Handler, build_routes, load_spec, spec_text
from .settings import Settings
from .store.base import Store
from .web.templates import STATIC_DIR, render_page

log = logging.getLogger("ib_oauth_bridge")
CORS_PATHS = ("/token", "/revoke", "/userinfo", "/proxy/", "/.well-known/", "/jwks.json")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    bridge = bridge_of(request)
    checks = {"store": "ok", "keys": "ok"}
    try:
        if not bridge.store.ping():
            checks["store"] = "failing"
    except Exception:  # any store failure means not ready
        checks["store"] = "failing"
    if not bridge.keys.public_jwks()["keys"]:
        checks["keys"] = "failing"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def openapi_document(request: Request) -> Response:
    return Response(spec_text(), media_type="application/yaml")


async def static_asset(request: Request) -> Response:
    name = request.path_params["path"]
    candidate = (STATIC_DIR / name).resolve()
    media_type = STATIC_TYPES.get(candidate.suffix)
    if candidate.parent != STATIC_DIR.resolve() or media_type is None or not candidate.is_file():
        return JSONResponse(
            {"error": "not_found", "error_description": "No such file."}, status_code=404
        )
    return FileResponse(
        candidate,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


async def playground(request: Request) -> Response:
    bridge = bridge_of(request)
    settings = bridge.settings
    if not settings.dev_mode:
        return JSONResponse(
            {"error": "not_found", "error_description": "The playground exists only in dev mode."},
            status_code=404,
        )
    return render_page(
        request,
        "playground.html",
        {
            "issuer": settings.issuer,
            "client_id": "mcp-public-client",
            "redirect_uri": f"{settings.issuer}/",
            "emulator_url": settings.dev_ib_urls[0] if settings.dev_ib_urls else "",
            "demo_login": "demo / demo",
        },
    )


HANDLERS: dict[str, Handler] = {
    "authorize": authorize.authorize,
    "login_submit_platform": authorize.login_submit_platform,
    "login_status": authorize.login_status,
    "login_continue": authorize.login_continue,
    "login_cancel": authorize.login_cancel,
    "token": endpoints.token,
    "revoke": endpoints.revoke,
    "userinfo": endpoints.userinfo,
    "authorization_server_metadata": endpoints.authorization_server_metadata,
    "openid_configuration": endpoints.openid_configuration,
    "protected_resource_metadata": endpoints.protected_resource_metadata,
    "protected_resource_metadata_proxy": endpoints.protected_resource_metadata_proxy,
    "jwks": endpoints.jwks,
    "healthz": healthz,
    "readyz": readyz,
    "openapi_document": openapi_document,
    "static_asset": static_asset,
    "playground": playground,
    **{f"proxy_{method}": proxy for method in ("get", "head", "post", "put", "patch", "delete")},
}


class PathCORS:
    """Starlette's CORSMiddleware, applied only to the paths browser apps call."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["*"],
            allow_headers=["authorization", "content-type", "accept"],
            expose_headers=["www-authenticate", "content-length", "content-disposition"],
            max_age=600,
        )
        self.enabled = bool(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.enabled and scope["type"] == "http" and path.startswith(CORS_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    bridge = Bridge.from_settings(settings, store=store)
    resource_metadata = f"{settings.issuer}/.well-known/oauth-protected-resource"
    bearer = Middleware(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(bridge.verifier, session_loader(bridge)),
        on_error=on_auth_error(resource_metadata),
    )
    protected = {"userinfo": [bearer]} | {
        f"proxy_{method}": [bearer] for method in ("get", "head", "post", "put", "patch", "delete")
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        purged = bridge.store.purge_expired()
        log.info(
            "bridge started",
            extra={"issuer": settings.issuer, "dev_mode": settings.dev_mode, "purged": purged},
        )
        try:
            yield
        finally:
            await bridge.aclose()

    app = Starlette(
        routes=build_routes(load_spec(), HANDLERS, protected),
        middleware=[Middleware(PathCORS, origins=settings.cors_origins)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.bridge = bridge
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed", 413: "invalid_request"}.get(
        exc.status_code, "invalid_request"
    )
    return JSONResponse(
        {"error": error, "error_description": exc.detail},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {
            "error": "server_error",
            "error_description": "The bridge failed; the error has been logged.",
        },
        status_code=500,
    )


def create_app_from_env() -> Starlette:
    """The ASGI factory for any server: settings from IB_BRIDGE_* variables."""
    return create_app(Settings.from_env())
