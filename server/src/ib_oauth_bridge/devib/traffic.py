"""What happens around every call before a route sees it: the v3 request log, injected faults,
artificial latency (of the v3 API, and of the login API on its own), and the load-balancer
cookie that real IB adds to every v3 answer.
"""

from __future__ import annotations

import asyncio
import secrets

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .hosts import CONTROL_PREFIX, is_v3_path
from .state import EmulatorState, RequestRecord

REDACTED = "<redacted>"
LOGIN_API_PREFIX = "/v1/auth/app/"  # IB's login API: the token and its info


def record_request(scope: Scope) -> RequestRecord:
    headers: list[tuple[str, str]] = []
    sid_present = False
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if name.lower() == "sid":
            # The log is readable by any test; a session id must never appear in it.
            sid_present, value = True, REDACTED
        headers.append((name, value))
    raw_path = scope.get("raw_path")
    return RequestRecord(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1") if raw_path else scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        sid_present=sid_present,
    )


class Traffic:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if is_v3_path(path):
            self.state.requests.append(record_request(scope))
            send = _with_lb_cookie(send)
            latency = self.state.config.latency_ms
            if latency > 0:
                await asyncio.sleep(latency / 1000)
        elif path.startswith(LOGIN_API_PREFIX):
            # IB's login API answering late (or, for the bridge's timeout, not at all).
            stall = self.state.config.login_latency_ms
            if stall > 0:
                await asyncio.sleep(stall / 1000)
        failure = self.state.take_failure(path)
        if failure is not None:
            response = JSONResponse(
                {"error": "injected_failure", "message": f"Simulated IB failure {failure.status}"},
                status_code=failure.status,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _with_lb_cookie(send: Send) -> Send:
    # IB's AWS load balancer pins clients with this cookie; a proxy in front must drop it.
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.append("set-cookie", f"AWSALB={secrets.token_urlsafe(24)}; Path=/")
        await send(message)

    return wrapped
