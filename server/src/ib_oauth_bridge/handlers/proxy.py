"""The IB API proxy over HTTP: check the scope, map the path to IB (`ib.proxy`), forward with
the session's sid, stream both ways. An IB 401 ends the grant."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..auth import TokenUser, bearer_error_response
from ..bridge import Bridge, bridge_of
from ..errors import BridgeError
from ..ib.proxy import (
    READ_METHODS,
    SMALL_BODY,
    request_headers,
    response_headers,
    upstream_url,
)
from ..ib.session import IBSession

log = logging.getLogger("ib_oauth_bridge.proxy")


async def proxy(request: Request) -> Response:
    bridge = bridge_of(request)
    user: TokenUser = request.user
    session = user.session
    assert session is not None, "the bridge's own middleware attaches the session"
    needed = "ib.read" if request.method in READ_METHODS else "ib.write"
    if needed not in user.claims.scopes:
        return bearer_error_response(
            bridge.resource_metadata_url,
            403,
            "insufficient_scope",
            f"This request needs the {needed} scope.",
            scope=needed,
        )
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    url = upstream_url(session, raw_path, request.scope["query_string"])
    return await forward(bridge, request, session, url)


async def forward(bridge: Bridge, request: Request, session: IBSession, url: httpx.URL) -> Response:
    has_body = request.method not in READ_METHODS and (
        "content-length" in request.headers or "transfer-encoding" in request.headers
    )
    upstream_request = httpx.Request(
        request.method,
        url,
        headers=request_headers(
            request.headers.raw, request.headers.get("connection", ""), session
        ),
        content=_body(request) if has_body else None,
        extensions={"timeout": bridge.upstream_timeout},
    )
    try:
        upstream = await bridge.upstream.handle_async_request(upstream_request)
        upstream.request = upstream_request
    except httpx.TimeoutException:
        raise BridgeError(
            504, "gateway_timeout", "IntelligenceBank did not answer in time."
        ) from None
    except httpx.HTTPError:
        raise BridgeError(502, "bad_gateway", "IntelligenceBank could not be reached.") from None
    if upstream.status_code == 401:
        # IB no longer accepts the sid: the session is over, and so is the grant.
        await upstream.aclose()
        await bridge.oauth.end_grant(session.grant.grant_id, "IB refused the session")
        return bearer_error_response(
            bridge.resource_metadata_url,
            401,
            "invalid_token",
            "The IntelligenceBank session has ended. Sign in again.",
        )
    length = upstream.headers.get("content-length", "")
    if length.isdigit() and int(length) <= SMALL_BODY:
        # Small answers (most JSON calls) are read whole and sent in one piece: fewer writes
        # and no streaming machinery. Anything larger, or of unknown length, streams.
        try:
            body = b"".join([chunk async for chunk in upstream.aiter_raw()])  # as encoded
        except httpx.HTTPError:
            raise BridgeError(502, "bad_gateway", "IntelligenceBank's answer broke off.") from None
        finally:
            await upstream.aclose()
        small = Response(body, status_code=upstream.status_code)
        small.raw_headers = response_headers(upstream)
        return small
    response = StreamingResponse(
        _relay(upstream),
        status_code=upstream.status_code,
        background=BackgroundTask(upstream.aclose),
    )
    response.raw_headers = response_headers(upstream)
    return response


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        # Headers are already sent: abort the connection so the caller sees a truncated body
        # instead of a short one that looks complete.
        log.warning("upstream body interrupted", extra={"status": upstream.status_code})
        raise
