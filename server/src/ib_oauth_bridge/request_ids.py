"""`X-Request-ID` on every answer: the caller's own when it is a safe one (1..128 characters
of `[A-Za-z0-9._:-]`), else a fresh random id. Held for the request in `audit.context`, so that
every log line (`logs`) and every audit event names it, with the client address and user agent.

The outermost middleware: answers made by the others (431, 400 for a wrong Host) carry it too,
and the 500 of an unexpected error (`handlers.errors.server_error`) sets it itself.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit.context import RequestContext, clean_user_agent, enter, leave, request_id_from

HEADER = "X-Request-ID"


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client = scope.get("client")
        context = RequestContext(
            request_id=request_id_from(headers.get(HEADER)),
            ip=client[0] if client else None,
            user_agent=clean_user_agent(headers.get("user-agent")),
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = context.request_id
            await send(message)

        token = enter(context)
        await self.app(scope, receive, send_with_id)
        # Left set when the app raises: Starlette's outermost ServerErrorMiddleware then logs
        # the error and answers 500 in this same task, and names the request in both
        # (handlers.errors.server_error). Each request runs in a task of its own.
        leave(token)
