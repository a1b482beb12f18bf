"""Operations and assets: liveness, readiness, metrics, the contract itself, static files, and
the dev playground."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from ..bridge import bridge_of
from ..errors import BridgeError
from ..metrics import CONTENT_TYPE, authorized
from ..routing import spec_text
from ..web.templates import STATIC_DIR, render_page

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
# The assets' names: nothing else (a NUL, a control character, a separator) reaches the file
# system, where a NUL makes the path itself raise.
STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    bridge = bridge_of(request)
    checks = {"store": "ok", "keys": "ok"}
    try:
        if not await bridge.store.ping():
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


async def metrics(request: Request) -> Response:
    """Prometheus metrics on the main app: only with IB_BRIDGE_METRICS=bearer, and only to a
    request carrying IB_BRIDGE_METRICS_TOKEN (a `port:` listener is `cli`'s)."""
    bridge = bridge_of(request)
    settings = bridge.settings
    if settings.metrics != "bearer" or not settings.metrics_token:
        raise BridgeError(404, "not_found", "Metrics are not served here.")
    if not authorized(request.headers.get("authorization"), settings.metrics_token):
        raise BridgeError(
            401,
            "invalid_token",
            "Metrics need the metrics Bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    live_grants = await bridge.metrics.live_grants.read(bridge.store)
    return Response(
        bridge.metrics.exposition(live_grants),
        media_type=CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )


async def openapi_document(request: Request) -> Response:
    return Response(spec_text(), media_type="application/yaml")


async def static_asset(request: Request) -> Response:
    name = request.path_params["path"]
    if not STATIC_NAME.fullmatch(name):
        raise BridgeError(404, "not_found", "No such file.")
    candidate = (STATIC_DIR / name).resolve()
    media_type = STATIC_TYPES.get(candidate.suffix)
    if candidate.parent != STATIC_DIR.resolve() or media_type is None or not candidate.is_file():
        raise BridgeError(404, "not_found", "No such file.")
    return FileResponse(
        candidate,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


async def playground(request: Request) -> Response:
    settings = bridge_of(request).settings
    if not settings.dev_mode:
        raise BridgeError(404, "not_found", "The playground exists only in dev mode.")
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
