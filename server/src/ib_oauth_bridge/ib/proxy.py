"""The IB API proxy: `/proxy/{host}/{path}` and `/proxy/{path}` (relative to the session's
apiV3url), with the caller's bearer token swapped for the session's `sid` header.

Security first: the target host must be the session's own API or platform host, or nothing is
sent. The caller's Authorization, Cookie, any `sid` and hop-by-hop headers are dropped; IB's
Set-Cookie never reaches the caller. Path and query pass byte for byte (IB's dotted syntax and
`searchParams[...]` brackets). Bodies stream both ways, so memory stays flat for any file size.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..auth import TokenUser, bearer_error_response
from ..bridge import Bridge, bridge_of
from .session import IBSession

log = logging.getLogger("ib_oauth_bridge.proxy")

PREFIX = b"/proxy/"
SMALL_BODY = 64 * 1024  # answers up to this size are buffered, larger ones stream
READ_METHODS = frozenset({"GET", "HEAD"})
# RFC 9110 7.6.1 hop-by-hop headers, plus what the bridge itself must own.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    }
)
DROP_REQUEST = HOP_BY_HOP | {
    "host",
    "authorization",
    "cookie",
    "sid",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "origin",
    "referer",
}
DROP_RESPONSE = HOP_BY_HOP | {"set-cookie", "set-cookie2"}


class ProxyRefusal(Exception):
    def __init__(self, status_code: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.error = error
        self.description = description


def upstream_url(session: IBSession, raw_path: bytes, query: bytes) -> httpx.URL:
    """The IB URL for a proxied request, or ProxyRefusal when its host is not the session's."""
    rest = raw_path[len(PREFIX) :] if raw_path.startswith(PREFIX) else b""
    first, _, remainder = rest.partition(b"/")
    first_text = first.decode("latin-1").lower()
    if "." in first_text or ":" in first_text:
        # The host form: the first segment names a host, and it must be one of the session's.
        if first_text not in session.allowed_hosts:
            raise ProxyRefusal(
                403, "forbidden_host", f"{first_text} is not this session's IntelligenceBank host."
            )
        base = next(
            url
            for url in (session.grant.api_v3_url, session.grant.platform_url)
            if url.lower().split("://", 1)[1] == first_text
        )
        path = b"/" + remainder
    else:
        base, path = session.grant.api_v3_url, b"/" + rest
    if b"/../" in path + b"/" or b"/./" in path + b"/" or b"\\" in path:
        raise ProxyRefusal(400, "invalid_request", "The path must not contain dot segments.")
    target = httpx.URL(base)
    raw = path + (b"?" + query if query else b"")
    return target.copy_with(raw_path=raw)


def _connection_tokens(value: str) -> set[str]:
    """RFC 9110 7.6.1: the headers a Connection header names are hop-by-hop too."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def request_headers(request: Request, session: IBSession) -> list[tuple[bytes, bytes]]:
    drop = DROP_REQUEST | _connection_tokens(request.headers.get("connection", ""))
    headers = [
        (name, value)
        for name, value in request.headers.raw
        if name.decode("latin-1").lower() not in drop
    ]
    headers.append((b"sid", session.sid.encode("latin-1")))
    return headers


def response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    """IB's headers as they came (repeated ones included), less cookies and hop-by-hop."""
    drop = DROP_RESPONSE | _connection_tokens(upstream.headers.get("connection", ""))
    return [
        (name, value)
        for name, value in upstream.headers.raw
        if name.decode("latin-1").lower() not in drop
    ]


async def proxy(request: Request) -> Response:
    bridge = bridge_of(request)
    user: TokenUser = request.user
    session: IBSession = user.session
    needed = "ib.read" if request.method in READ_METHODS else "ib.write"
    resource_metadata = f"{bridge.settings.issuer}/.well-known/oauth-protected-resource"
    if needed not in user.claims.scopes:
        return bearer_error_response(
            resource_metadata,
            403,
            "insufficient_scope",
            f"This request needs the {needed} scope.",
            scope=needed,
        )
    try:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        url = upstream_url(session, raw_path, request.scope["query_string"])
    except ProxyRefusal as refusal:
        return JSONResponse(
            {"error": refusal.error, "error_description": refusal.description},
            status_code=refusal.status_code,
        )
    return await forward(bridge, request, session, url, resource_metadata)


async def forward(
    bridge: Bridge, request: Request, session: IBSession, url: httpx.URL, resource_metadata: str
) -> Response:
    has_body = request.method not in READ_METHODS and (
        "content-length" in request.headers or "transfer-encoding" in request.headers
    )
    upstream_request = httpx.Request(
        request.method,
        url,
        headers=request_headers(request, session),
        content=_body(request) if has_body else None,
        extensions={"timeout": bridge.upstream_timeout},
    )
    try:
        upstream = await bridge.upstream.handle_async_request(upstream_request)
        upstream.request = upstream_request
    except httpx.TimeoutException:
        return _gateway_error(504, "gateway_timeout", "IntelligenceBank did not answer in time.")
    except httpx.HTTPError:
        return _gateway_error(502, "bad_gateway", "IntelligenceBank could not be reached.")
    if upstream.status_code == 401:
        # IB no longer accepts the sid: the session is over, and so is the grant.
        await upstream.aclose()
        bridge.oauth.end_grant(session.grant.grant_id, reason="IB refused the session")
        return bearer_error_response(
            resource_metadata,
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
            return _gateway_error(502, "bad_gateway", "IntelligenceBank's answer broke off.")
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


def _gateway_error(status_code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code)
