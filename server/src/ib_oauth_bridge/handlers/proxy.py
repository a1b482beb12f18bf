"""The IB API proxy over HTTP: check the scope, map the path to IB (`ib.proxy`), forward with
the session's sid through the upstream client (`ib.upstream`), stream both ways. An IB 401 ends
the grant.

The hot path per call: the verified token (cached until it expires), the live session (cached,
see `ib.session.SessionCache`), the header policy, the forward. No store write, no URL parsing
beyond splitting the path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
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
    # One sign-in cannot flood IB (or starve the others) through the bridge.
    await bridge.limits.proxy.enforce(
        session.grant.grant_id, "requests through the proxy for this sign-in"
    )
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    url = upstream_url(session, raw_path, request.scope["query_string"])
    return await forward(bridge, request, session, url)


async def forward(bridge: Bridge, request: Request, session: IBSession, url: str) -> Response:
    headers = request.headers
    has_body = request.method not in READ_METHODS and (
        "content-length" in headers or "transfer-encoding" in headers
    )
    try:
        upstream = await bridge.upstream.send(
            request.method,
            url,
            request_headers(headers.raw, headers.get("connection", ""), session),
            _body(request) if has_body else None,
        )
    except TimeoutError:
        raise BridgeError(
            504, "gateway_timeout", "IntelligenceBank did not answer in time."
        ) from None
    except aiohttp.ClientError:
        raise BridgeError(502, "bad_gateway", "IntelligenceBank could not be reached.") from None
    if upstream.status == 401:
        # IB no longer accepts the sid: the session is over, and so is the grant.
        upstream.release()
        await bridge.oauth.end_grant(session.grant.grant_id, "IB refused the session")
        return bearer_error_response(
            bridge.resource_metadata_url,
            401,
            "invalid_token",
            "The IntelligenceBank session has ended. Sign in again.",
        )
    raw_headers = response_headers(upstream.raw_headers, upstream.headers.get("Connection", ""))
    length = upstream.content_length
    if length is not None and length <= SMALL_BODY:
        # Small answers (most JSON calls) are read whole and sent in one piece: fewer writes
        # and no streaming machinery. Anything larger, or of unknown length, streams.
        try:
            body = await upstream.read()  # as encoded: no decompression
        except (TimeoutError, aiohttp.ClientError):
            upstream.close()
            raise BridgeError(502, "bad_gateway", "IntelligenceBank's answer broke off.") from None
        upstream.release()
        small = Response(body, status_code=upstream.status)
        small.raw_headers = raw_headers
        return small
    response = StreamingResponse(
        _relay(upstream), status_code=upstream.status, background=BackgroundTask(upstream.close)
    )
    response.raw_headers = raw_headers
    return response


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _relay(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    except (TimeoutError, aiohttp.ClientError):
        # Headers are already sent: abort the connection so the caller sees a truncated body
        # instead of a short one that looks complete.
        upstream.close()
        log.warning("upstream body interrupted", extra={"status": upstream.status})
        raise
    upstream.release()
