"""Request-header limits for every endpoint, as ASGI middleware in front of the whole app.

Refused with 431 (RFC 6585) and an RFC 6749-style JSON body before any handler runs, so nothing
oversized reaches IB through the proxy, the token endpoint's parsers or the login pages: a
header value longer than `max_value_bytes`, more than `max_count` header lines, or more than
`max_total_bytes` of names and values in all.

This checks headers the server has already read. It does not bound how much a server reads
before it hands a request over: uvicorn's httptools parser has no header size cap (its h11
parser does, `h11_max_incomplete_event_size`, which `ib-oauth-bridge serve` sets), so a
reverse proxy in front caps header bytes in production; see docs/configuration.md, "Limits".
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import NO_STORE


class HeaderLimits:
    def __init__(
        self, app: ASGIApp, *, max_value_bytes: int, max_total_bytes: int, max_count: int
    ) -> None:
        self.app = app
        self.max_value_bytes = max_value_bytes
        self.max_total_bytes = max_total_bytes
        self.max_count = max_count

    def problem(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """What is too large about these headers, or None when they are within the limits."""
        if len(headers) > self.max_count:
            return f"The request has more than {self.max_count} header fields."
        total = 0
        for name, value in headers:
            if len(value) > self.max_value_bytes:
                shown = name.decode("latin-1")[:64]
                return f"The {shown} header is longer than {self.max_value_bytes} bytes."
            total += len(name) + len(value)
        if total > self.max_total_bytes:
            return f"The request headers are larger than {self.max_total_bytes} bytes in all."
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.problem(scope["headers"])
            if problem is not None:
                response = JSONResponse(
                    {"error": "invalid_request", "error_description": problem},
                    status_code=431,
                    headers={**NO_STORE, "Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
