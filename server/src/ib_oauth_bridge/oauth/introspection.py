"""Token introspection (RFC 7662) on Authlib's IntrospectionEndpoint.

A resource server (an MCP server, say) asks whether a token is still live, so that a revoked
sign-in stops working there at once, not only when its JWT expires. Only confidential clients
may ask: about their own tokens always, and about any token when configured as a resource
server (`"introspect": true` in IB_BRIDGE_CLIENTS). A token is active while its signature, expiry
and grant are: revoked, idle, past its IB session, or unknown, it is `{"active": false}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from ..store.records import Grant, secret_hash
from .clients import Client
from .token_hints import find_token
from .tokens import AccessTokenVerifier, InvalidAccessToken

if TYPE_CHECKING:
    from .requests import BridgeOAuth2Request
    from .server import AuthorizationServer

ACCESS_TOKEN = "access_token"  # noqa: S105 - a token type hint, not a secret
REFRESH_TOKEN = "refresh_token"  # noqa: S105


@dataclass(frozen=True, slots=True)
class IntrospectedToken:
    """A live token and what RFC 7662 2.2 reports about it."""

    client_id: str
    claims: dict[str, Any]

    # Liveness was settled when the token was found (signature, expiry and a live grant).
    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012
    SUPPORTED_TOKEN_TYPES = (ACCESS_TOKEN, REFRESH_TOKEN)
    server: AuthorizationServer

    def __init__(self, verifier: AccessTokenVerifier) -> None:
        super().__init__()
        self._verifier = verifier  # any audience: the resource server checks `aud` itself

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> IntrospectedToken | None:
        lookups = {ACCESS_TOKEN: self._access_token, REFRESH_TOKEN: self._refresh_token}
        return find_token(token_string, lookups, token_type_hint)

    def _access_token(self, token_string: str) -> IntrospectedToken | None:
        try:
            claims = self._verifier.verify(token_string)
        except InvalidAccessToken:
            return None
        grant = self._live_grant(claims.grant_id)
        if grant is None or not claims.issued_under(grant):
            return None
        raw = claims.raw
        return IntrospectedToken(
            claims.client_id,
            {
                "token_type": "Bearer",
                "sub": claims.subject,
                "client_id": claims.client_id,
                "scope": raw.get("scope", ""),
                "aud": list(claims.audiences),
                "exp": claims.expires_at,
                "iat": raw.get("iat"),
                "iss": raw.get("iss"),
                "jti": raw.get("jti"),
                "act": raw.get("act"),  # RFC 8693 4.1, on an exchanged token
            },
        )

    def _refresh_token(self, token_string: str) -> IntrospectedToken | None:
        server = self.server
        record = server.call(server.refresh_tokens.get_refresh_token, secret_hash(token_string))
        if record is None or record.used:  # a rotated token is spent, though still on record
            return None
        grant = self._live_grant(record.grant_id)
        if grant is None:
            return None
        return IntrospectedToken(
            record.client_id,
            {
                "token_type": REFRESH_TOKEN,
                "sub": grant.user.get("sub") or grant.grant_id,
                "client_id": record.client_id,
                "scope": record.scope,
                "exp": int(record.expires_at),
                "iss": server.settings.issuer,
            },
        )

    def _live_grant(self, grant_id: str) -> Grant | None:
        if not grant_id:
            return None
        return self.server.call(self.server.live_grant, grant_id)

    def check_permission(
        self, token: IntrospectedToken, client: Client, request: BridgeOAuth2Request
    ) -> bool:
        return client.may_introspect or token.client_id == client.client_id

    def introspect_token(self, token: IntrospectedToken) -> dict[str, Any]:
        return {
            "active": True,
            **{name: value for name, value in token.claims.items() if value is not None},
        }
