"""`create_app`: the IB emulator as one Starlette app serving both IB hosts on one port."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import api, control, login
from .config import EmulatorConfig
from .hosts import HostRouter
from .state import EmulatorState
from .traffic import Traffic


async def _http_error(request: Request, exc: Exception) -> Response:
    # IB answers errors in JSON; Starlette's default is plain text.
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"error": "not_found" if exc.status_code == 404 else "http_error", "message": exc.detail},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    state = EmulatorState(initial_config=config or EmulatorConfig())
    app = Starlette(
        routes=[*login.routes, *api.routes, *control.routes],
        middleware=[Middleware(HostRouter, state=state), Middleware(Traffic, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = state
    return app
