"""Routing by Host header: one port serves IB's platform host and its (different) API host.

Real IB serves the browser login on `<company>.intelligencebank.com` and the v3 API on a regional
host; keeping the two apart here lets tests prove that a client sends each call to the right one.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .state import EmulatorState

CONTROL_PREFIX = "/_emulator/"


def is_v3_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def request_hostname(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            host: str = value.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[: host.find("]") + 1] if "]" in host else host
            return host.rsplit(":", 1)[0]
    return ""


class HostRouter:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(CONTROL_PREFIX):
            config = self.state.config
            wanted = config.api_host if is_v3_path(scope["path"]) else config.platform_host
            if request_hostname(scope) != wanted.lower():
                response = JSONResponse(
                    {"error": "not_found", "message": "Not found on this host"}, status_code=404
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
