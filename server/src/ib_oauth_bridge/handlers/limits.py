"""Rate limits at the HTTP layer: who is asking (the client address, as a keyed hash) and the
per-address, per-client and per-grant checks the handlers make before any work.

The address is the ASGI client's: the connection's peer, or, when that peer is one of
IB_BRIDGE_TRUSTED_PROXIES, the client it forwards for (`forwarded.TrustedProxies` sets the
scope's client before any handler runs). A caller's own forwarded headers are never read, so
that no caller can choose its own key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from authlib.oauth2.rfc6749.errors import InvalidClientError
from starlette.requests import Request

from ..bridge import Bridge, bridge_of
from ..errors import BridgeError
from ..oauth.client_auth import basic_credentials
from ..oauth.requests import BridgeOAuth2Request
from ..oauth.server import OAuthResponse
from ..ratelimit import RateLimiter, rate_limited


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def address_hash(request: Request) -> str:
    """The client address as the bridge keeps it (see `RateLimits.address_hash`)."""
    return bridge_of(request).limits.rates.address_hash(client_address(request))


async def limit_address(request: Request, limiter: RateLimiter, what: str) -> None:
    """Count this request against its address; 429 `rate_limited` beyond the limit."""
    await limiter.enforce(address_hash(request), f"{what} from this address")


def confidential_client_id(oauth_request: BridgeOAuth2Request) -> str | None:
    """The client a /token, /revoke or /introspect request claims to be, when it presents a
    secret (HTTP Basic or `client_secret` in the form); None for a public client.

    Only such clients are limited per client: a public client's id is a label anyone may
    send, so counting it would let anyone lock out every user of, say, `mcp-public-client`.
    Public clients are limited per address only."""
    try:
        credentials = basic_credentials(oauth_request.headers)
    except InvalidClientError:  # unreadable Basic credentials: Authlib answers 401 for them
        return None
    if credentials is not None:
        return credentials[0] if credentials[1] else None
    client_id = oauth_request.form.get("client_id")
    if client_id and oauth_request.form.get("client_secret"):
        return str(client_id)
    return None


async def limit_client(
    bridge: Bridge,
    oauth_request: BridgeOAuth2Request,
    answer_of: Callable[[], Awaitable[OAuthResponse]],
) -> OAuthResponse:
    """Run `answer_of` (Authlib's endpoint) unless the confidential client the request names
    is over its limit (429), and count the request against that client once it has proved
    to be it: a wrong secret costs the real client nothing (the address limit still counts)."""
    client_id = confidential_client_id(oauth_request)
    if client_id is None:
        return await answer_of()
    limiter = bridge.limits.client
    await limiter.enforce(client_id, "requests from this client", count=False)
    answer = await answer_of()
    if authenticated(answer):
        await limiter.hit(client_id)
    return answer


def authenticated(answer: OAuthResponse) -> bool:
    """Whether the client got past authentication (no 401, no `invalid_client`)."""
    if answer.status_code == 401:
        return False
    try:
        body = json.loads(answer.body or "{}")
    except ValueError:
        return True
    return not (isinstance(body, dict) and body.get("error") == "invalid_client")


class FraudBlock(BridgeError):
    """/token refusing an address or client blocked by the fraud rules (audit.fraud)."""


def enforce_fraud_block(bridge: Bridge, oauth_request: BridgeOAuth2Request) -> None:
    """429 `rate_limited` with `Retry-After` while this address, or the confidential client
    the request names, is blocked for too many failed code exchanges."""
    retry_after = bridge.audit.blocked(confidential_client_id(oauth_request))
    if retry_after is not None:
        error = rate_limited(
            "Too many failed authorization code exchanges from this address or client.",
            retry_after,
        )
        raise FraudBlock(error.status_code, error.error, error.description, headers=error.headers)
