"""Token revocation (RFC 7009) on Authlib's RevocationEndpoint.

Revoking either token of a grant ends the whole grant: the refresh token stops refreshing and
every access token of the grant stops working at the proxy at once, because the proxy checks the
grant on each call. This is what "sign out" means for a client of the bridge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from ..store.records import secret_hash
from .clients import Client
from .token_hints import find_token
from .tokens import AccessTokenClaims, InvalidAccessToken

if TYPE_CHECKING:
    from .requests import BridgeOAuth2Request
    from .server import AuthorizationServer


@dataclass(frozen=True, slots=True)
class RevocableToken:
    grant_id: str
    client_id: str

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = [  # noqa: RUF012 - Authlib's own attribute
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    server: AuthorizationServer

    def __init__(self, verify_access_token: Callable[[str], AccessTokenClaims]) -> None:
        super().__init__()
        self._verify_access_token = verify_access_token

    def query_token(self, token_string: str, token_type_hint: str | None) -> RevocableToken | None:
        lookups = {"refresh_token": self._refresh_token, "access_token": self._access_token}
        return find_token(token_string, lookups, token_type_hint)

    def _refresh_token(self, token_string: str) -> RevocableToken | None:
        server = self.server
        record = server.call(server.refresh_tokens.get_refresh_token, secret_hash(token_string))
        return RevocableToken(record.grant_id, record.client_id) if record else None

    def _access_token(self, token_string: str) -> RevocableToken | None:
        try:
            claims = self._verify_access_token(token_string)
        except InvalidAccessToken:
            return None
        return RevocableToken(claims.grant_id, claims.client_id) if claims.grant_id else None

    def revoke_token(self, token: RevocableToken, request: BridgeOAuth2Request) -> None:
        self.server.call(self.server.end_grant, token.grant_id, "revoked by the client")
