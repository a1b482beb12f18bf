"""The IB API proxy over HTTP: check the scope, map the path to IB (`ib.proxy`), forward with
the session's sid through the upstream client (`ib.upstream`), stream both ways. An IB 401 ends
the grant.

The hot path per call: the verified token (cached until it expires), the live session (cached,
see `ib.session.SessionCache`), the header policy, the forward. No store write, no URL parsing
beyond splitting the path.

Fairness, since one upstream pool serves every user: a grant has at most
`proxy_max_concurrent_per_grant` calls in flight (429 beyond); a request body that pauses longer
than `proxy_body_idle_timeout` between chunks ends the call (408, the upstream request aborted
and its connection closed); a client that stops reading an answer for `proxy_send_timeout` is
dropped and the upstream answer closed. GET and HEAD with a body are refused (400), never sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from ..audit import Event, Outcome
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
from ..ib.upstream import GrantSlot

log = logging.getLogger("ib_oauth_bridge.proxy")
# On refusals that leave a request body unread: the connection is not worth keeping.
CLOSE = {"Connection": "close"}


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
    headers = request.headers
    has_body = _has_body(headers)
    if has_body and request.method in READ_METHODS:
        message = f"A {request.method} request must not have a body."
        raise BridgeError(400, "invalid_request", message, headers=CLOSE)
    # One sign-in cannot flood IB (or starve the others) through the bridge.
    await bridge.limits.proxy.enforce(
        session.grant.grant_id, "requests through the proxy for this sign-in"
    )
    grant = session.grant
    ib_user_id = grant.user.get("sub")
    # The fraud rule for one grant used from many addresses: a dictionary read unless this
    # address is new for the grant.
    if bridge.audit.grant_used(
        grant.grant_id, client_id=grant.client_id, ib_user_id=ib_user_id
    ).revoke:
        await bridge.oauth.end_grant(grant.grant_id, "used from too many addresses")
        return bearer_error_response(
            bridge.resource_metadata_url,
            401,
            "invalid_token",
            "This sign-in was used from too many addresses and has been ended. Sign in again.",
        )
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        url = upstream_url(session, raw_path, request.scope["query_string"])
    except BridgeError as error:
        if error.error == "forbidden_host":
            bridge.audit.emit(
                Event.PROXY_TARGET_REFUSED,
                Outcome.REFUSED,
                client_id=grant.client_id,
                ib_user_id=ib_user_id,
                grant_id=grant.grant_id,
            )
        raise
    cap = bridge.settings.proxy_max_upload_bytes
    declared = headers.get("content-length", "")
    if cap and declared.isdigit() and int(declared) > cap:
        raise BridgeError(413, "invalid_request", _too_large(cap), headers=CLOSE)
    slot = bridge.upstream.grant_slot(session.grant.grant_id)
    if slot is None:
        log.info(
            "proxy call refused: the grant has its maximum of calls in flight",
            extra={"grant_id": session.grant.grant_id, "cap": bridge.upstream.max_per_grant},
        )
        raise BridgeError(
            429,
            "too_many_requests",
            f"This sign-in already has {bridge.upstream.max_per_grant} calls in progress "
            "through the proxy; wait for one to finish.",
            headers={"Retry-After": "1", **CLOSE},
        )
    try:
        response = await forward(bridge, request, session, url, body=has_body)
    except BaseException:
        slot.release()
        raise
    if isinstance(response, _Relay):
        response.slot = slot  # held until the answer has been relayed or dropped
    else:
        slot.release()
    return response


async def forward(
    bridge: Bridge, request: Request, session: IBSession, url: str, *, body: bool
) -> Response:
    headers = request.headers
    settings = bridge.settings
    metrics = bridge.metrics
    watch = _BodyWatch()
    outbound = request_headers(headers.raw, headers.get("connection", ""), session)
    started = time.perf_counter()
    try:
        if bridge.tracing is None:
            upstream = await _send(bridge, request, url, outbound, watch, body=body)
        else:
            with bridge.tracing.upstream(request.method, outbound) as span:
                upstream = await _send(bridge, request, url, outbound, watch, body=body)
                span.set_attribute("http.response.status_code", upstream.status)
    except (TimeoutError, aiohttp.ClientError) as exc:
        # aiohttp has closed the connection (never reused after a failed request).
        if watch.error is not None:
            raise watch.error from None  # the caller's body stalled or grew too large
        if isinstance(exc, TimeoutError):
            metrics.upstream_failed("timeout", time.perf_counter() - started)
            raise BridgeError(
                504, "gateway_timeout", "IntelligenceBank did not answer in time."
            ) from None
        metrics.upstream_failed("unreachable", time.perf_counter() - started)
        raise BridgeError(502, "bad_gateway", "IntelligenceBank could not be reached.") from None
    metrics.upstream_answered(upstream.status, time.perf_counter() - started)
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
    raw_headers = response_headers(
        upstream.raw_headers, upstream.headers.get("Connection", ""), session.sid
    )
    length = upstream.content_length
    if length is not None and length <= SMALL_BODY:
        # Small answers (most JSON calls) are read whole and sent in one piece: fewer writes
        # and no streaming machinery. Anything larger, or of unknown length, streams.
        try:
            answer = await upstream.read()  # as encoded: no decompression
        except (TimeoutError, aiohttp.ClientError):
            upstream.close()
            if watch.error is not None:  # IB answered early, then the caller's body failed
                raise watch.error from None
            metrics.upstream_failed("interrupted")
            raise BridgeError(502, "bad_gateway", "IntelligenceBank's answer broke off.") from None
        upstream.release()
        small = Response(answer, status_code=upstream.status)
        small.raw_headers = raw_headers
        return small
    response = _Relay(upstream, settings.proxy_send_timeout)
    response.raw_headers = raw_headers
    return response


async def _send(
    bridge: Bridge,
    request: Request,
    url: str,
    headers: list[tuple[str, str]],
    watch: _BodyWatch,
    *,
    body: bool,
) -> aiohttp.ClientResponse:
    settings = bridge.settings
    return await bridge.upstream.send(
        request.method,
        url,
        headers,
        _body(request, watch, settings.proxy_body_idle_timeout, settings.proxy_max_upload_bytes)
        if body
        else None,
    )


def _has_body(headers: Headers) -> bool:
    """Whether the request says it carries a body (RFC 9112 6.1, 6.3)."""
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length")
    return length is not None and length.strip() not in {"", "0"}


def _too_large(cap: int) -> str:
    return f"The request body is larger than {cap} bytes, this bridge's limit for uploads."


class _BodyWatch:
    """Why the bridge ended an upload, for the handler to answer once aiohttp gives up."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BridgeError | None = None


class _BodyRefused(Exception):
    """Ends the upload from inside the body. Not an OSError (TimeoutError is one), so aiohttp
    reports it as a connection error and closes the upstream connection."""


async def _body(
    request: Request, watch: _BodyWatch, idle_timeout: float, cap: int
) -> AsyncIterator[bytes]:
    chunks = request.stream()
    received = 0
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            watch.error = BridgeError(
                408,
                "request_timeout",
                f"The request body paused for more than {idle_timeout:g} seconds.",
                headers=CLOSE,
            )
            raise _BodyRefused from None
        if not chunk:
            continue
        received += len(chunk)
        if cap and received > cap:
            watch.error = BridgeError(413, "invalid_request", _too_large(cap), headers=CLOSE)
            raise _BodyRefused
        yield chunk


class _ClientStalled(Exception):
    """The caller stopped reading the answer for longer than the send deadline."""


class _Relay(StreamingResponse):
    """IB's answer streamed to the caller. Each write must be taken within `send_timeout`: a
    caller that stops reading is dropped (the server closes its connection) and IB's answer is
    closed, so neither the upstream connection nor the grant's slot stays held."""

    def __init__(self, upstream: aiohttp.ClientResponse, send_timeout: float) -> None:
        super().__init__(_relay(upstream), status_code=upstream.status)
        self.upstream = upstream
        self.send_timeout = send_timeout
        self.slot: GrantSlot | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timeout = self.send_timeout

        async def send_within(message: Message) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await send(message)
            except TimeoutError:
                raise _ClientStalled from None

        try:
            await super().__call__(scope, receive, send_within)
        except _ClientStalled:
            # Return with the answer incomplete: the server closes the connection, and the
            # caller sees a truncated body, never a short one that looks complete.
            log.warning(
                "proxy client stopped reading; dropped",
                extra={"status": self.upstream.status, "send_timeout": timeout},
            )
        finally:
            self.upstream.close()  # a no-op once the body was read to its end and released
            if self.slot is not None:
                self.slot.release()


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
