"""BridgeAuth: bearer header, refresh before expiry, one refresh and one retry after a 401."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from ib_oauth_bridge_client.helpers import (
    BridgeAuth,
    BridgeError,
    BridgeMetadata,
    NetworkError,
    OAuthError,
    TokenHolder,
    Tokens,
)

from servers import Bridge, free_port

ISSUER = "https://bridge.test"


def metadata(issuer: str = ISSUER) -> BridgeMetadata:
    return BridgeMetadata.from_document({
        "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token", "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json", "code_challenge_methods_supported": ["S256"],
    }, issuer)


class FakeBridge:
    """A MockTransport bridge: /token rotates tokens; /api answers `api_status`."""

    def __init__(self, api_status: int = 401, token_answer: object = None) -> None:
        self.api_status = api_status
        self.token_answer = token_answer
        self.refreshes = 0
        self.api_calls: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            self.refreshes += 1
            if self.token_answer is not None:
                return httpx.Response(200, content=json.dumps(self.token_answer).encode())
            return httpx.Response(200, json={"access_token": f"AT{self.refreshes}",
                                             "refresh_token": f"RT{self.refreshes}",
                                             "expires_in": 3600, "token_type": "Bearer"})
        self.api_calls.append(request.headers.get("Authorization", ""))
        if request.stream is not None:
            request.read()
        return httpx.Response(self.api_status, json={"error": "invalid_token"})

    def holder(self) -> TokenHolder:
        tokens = Tokens("AT0", "RT0", time.time() + 3600)
        return TokenHolder(metadata(), "cli", tokens,
                           http=httpx.Client(transport=httpx.MockTransport(self.handler)))


def test_a_401_refreshes_once_and_retries_once() -> None:
    fake = FakeBridge(api_status=401)
    holder = fake.holder()
    with httpx.Client(transport=httpx.MockTransport(fake.handler), auth=BridgeAuth(holder)) as c:
        answer = c.post(f"{ISSUER}/api/x", content=b"replayable bytes")
    assert answer.status_code == 401  # still refused after the retry: returned as is
    assert fake.api_calls == ["Bearer AT0", "Bearer AT1"]
    assert fake.refreshes == 1


def test_no_retry_for_a_streamed_body() -> None:
    fake = FakeBridge(api_status=401)

    def body() -> Iterator[bytes]:
        yield b"chunk"

    with httpx.Client(transport=httpx.MockTransport(fake.handler),
                      auth=BridgeAuth(fake.holder())) as c:
        answer = c.post(f"{ISSUER}/api/x", content=body())
    assert answer.status_code == 401
    assert fake.api_calls == ["Bearer AT0"]
    assert fake.refreshes == 0


def test_no_refresh_on_success_or_other_errors() -> None:
    for status in (200, 403, 500):
        fake = FakeBridge(api_status=status)
        with httpx.Client(transport=httpx.MockTransport(fake.handler),
                          auth=BridgeAuth(fake.holder())) as c:
            assert c.get(f"{ISSUER}/api/x").status_code == status
        assert fake.refreshes == 0
        assert len(fake.api_calls) == 1


def test_async_flow_retries_once() -> None:
    fake = FakeBridge(api_status=401)

    async def main() -> int:
        holder = fake.holder()
        holder._async_http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler),
                                     auth=BridgeAuth(holder)) as c:
            answer = await c.get(f"{ISSUER}/api/x")
        await holder._async_http.aclose()
        return answer.status_code

    assert asyncio.run(main()) == 401
    assert fake.api_calls == ["Bearer AT0", "Bearer AT1"]
    assert fake.refreshes == 1


def test_expiring_token_is_refreshed_before_sending() -> None:
    fake = FakeBridge(api_status=200)
    holder = fake.holder()
    holder._tokens = dataclasses.replace(holder.tokens, expires_at=time.time() + 10)
    with httpx.Client(transport=httpx.MockTransport(fake.handler), auth=BridgeAuth(holder)) as c:
        c.get(f"{ISSUER}/api/x")
    assert fake.api_calls == ["Bearer AT1"]


@pytest.mark.parametrize("answer", [["not", "an", "object"], {"token_type": "Bearer"}])
def test_malformed_token_answers_are_bridge_errors(answer: object) -> None:
    fake = FakeBridge(token_answer=answer)
    with pytest.raises(BridgeError) as caught:
        fake.holder().refresh()
    assert not isinstance(caught.value, OAuthError)


def test_unreachable_token_endpoint_is_a_network_error() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    holder = TokenHolder(metadata(base), "cli", Tokens("AT", "RT", 0.0))
    with pytest.raises(NetworkError):
        holder.access_token()
    assert holder.tokens.refresh_token == "RT"  # unchanged: can be retried later


def test_retry_after_401_against_the_bridge(bridge: Bridge, holder: TokenHolder) -> None:
    # An access token the bridge refuses (but which looks valid for an hour): 401, refresh, retry.
    holder._tokens = dataclasses.replace(holder.tokens, access_token="not-a-valid-jwt")
    sent: list[str] = []
    hooks = {"request": [lambda request: sent.append(request.url.path)]}
    with httpx.Client(auth=BridgeAuth(holder), event_hooks=hooks) as client:
        answer = client.get(holder.metadata.userinfo_endpoint)
    assert answer.status_code == 200
    assert answer.json()["ib_client_id"]
    assert sent == ["/userinfo", "/userinfo"]
    assert holder.tokens.access_token != "not-a-valid-jwt"
