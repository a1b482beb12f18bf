"""`BridgeAuth`: an httpx auth that sends the bearer token and recovers once from a 401."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from .holder import TokenHolder


def replayable(request: httpx.Request) -> bool:
    """True when the body can be sent a second time: no body, bytes, or already read.

    A generator or file-iterator body (a streamed upload) is consumed by the first attempt.
    """
    return isinstance(request.stream, httpx.ByteStream)


def bearer_of(request: httpx.Request) -> str | None:
    """The bearer token a request was sent with, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class BridgeAuth(httpx.Auth):
    """Attach ``Authorization: Bearer <access token>`` from a `TokenHolder`.

    The token is refreshed shortly before it expires. If the server still answers 401 (the
    token was revoked, the clock is off, the bridge restarted with new keys), the holder is
    refreshed once - coalesced with any concurrent refresh - and the request is sent once more,
    provided its body can be replayed. A second 401 is returned to the caller as is. Works with
    both `httpx.Client` and `httpx.AsyncClient`; the body is never buffered for this.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, holder: TokenHolder) -> None:
        self.holder = holder

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.holder.access_token()
        can_replay = replayable(request)  # judged before sending consumes a stream
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and can_replay:
            fresh = self.holder.refresh(stale=token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.holder.aaccess_token()
        can_replay = replayable(request)  # judged before sending consumes a stream
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and can_replay:
            fresh = await self.holder.arefresh(stale=token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request
