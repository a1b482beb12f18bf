"""Token exchange (RFC 8693) at /token, as an Authlib grant: a resource server that calls IB for
the user swaps the user's access token for a proxy token that names it as the actor.

A third-party resource server (an MCP server) receives access tokens whose only audience is its
own URL (RFC 8707), so it cannot pass them on to the proxy (the MCP authorization spec forbids
token passthrough, and the proxy refuses them). To call IB for the user it exchanges:

    POST /token  (client authentication: client_secret_basic or client_secret_post)
    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the user's access token>
    subject_token_type=urn:ietf:params:oauth:token-type:access_token
    resource=<issuer>/proxy            (or audience=<issuer>/proxy; either may be omitted)
    scope=ib.read                      (optional: at most the subject token's scope)

Who may: a configured confidential client with `"token_exchange": true` and its `"resource"`
(its own URL) in IB_BRIDGE_CLIENTS. What it may exchange: a live access token of this bridge
whose `aud` holds that resource (so a server can exchange only tokens users sent to it), of a
live grant, not itself exchanged. What it gets: an access token with `aud=[<issuer>/proxy]`,
`client_id` and `act.sub` the exchanging client (RFC 8693 4.1, RFC 9068 2.2), the user's `sub`,
scope within the subject token's, the same `grant_id` (so it ends with the grant: revocation,
an IB 401, idle timeout), an `exp` no later than the subject token's nor the IB session's end,
no refresh token, and `issued_token_type` in the answer (RFC 8693 2.2.1).

Errors (RFC 8693 2.2.2, RFC 6749 5.2): `invalid_client` (401) when the client does not
authenticate; `unauthorized_client` when it may not exchange; `invalid_request` for a missing,
unsupported, invalid or unacceptable subject token (and for an `actor_token`: the authenticated
client is the actor); `invalid_target` for a resource or audience other than the proxy;
`invalid_scope` for a scope beyond the subject token's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.util import scope_to_list

from .clients import Client
from .grants import InvalidTargetError, grant_use_allowed
from .tokens import AccessTokenClaims, ActingUser, InvalidAccessToken

if TYPE_CHECKING:
    from .server import AuthorizationServer

log = logging.getLogger("ib_oauth_bridge.oauth")

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    GRANT_TYPE = TOKEN_EXCHANGE
    # Confidential clients only: the actor must prove who it is.
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012 - Authlib's own attribute
        "client_secret_basic",
        "client_secret_post",
    ]
    server: AuthorizationServer

    def validate_token_request(self) -> None:
        client: Client = self.authenticate_token_endpoint_client()
        if not client.may_exchange_tokens or not client.resource:
            raise UnauthorizedClientError(
                "This client may not exchange tokens: its configuration at the bridge needs "
                "token_exchange and its resource."
            )
        self.request.client = client
        data = self.request.payload.data
        self._check_target(data)
        if data.get("actor_token") or data.get("actor_token_type"):
            raise InvalidRequestError(
                "actor_token is not supported: the authenticated client is the actor."
            )
        requested_type = data.get("requested_token_type")
        if requested_type not in (None, ACCESS_TOKEN_TYPE):
            raise InvalidRequestError(f"Only {ACCESS_TOKEN_TYPE} tokens are issued.")
        subject_token = data.get("subject_token")
        if not subject_token:
            raise InvalidRequestError("Missing 'subject_token'.")
        if data.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"subject_token_type must be {ACCESS_TOKEN_TYPE}.")
        claims = self._subject_claims(subject_token, client.resource)
        grant = self.server.call(self.server.live_grant, claims.grant_id)
        if (
            grant is None
            or not claims.issued_under(grant)
            or not grant_use_allowed(self.server, grant)
        ):
            raise InvalidRequestError(
                "The sign-in behind the subject_token has ended (signed out, revoked or expired)."
            )
        self.request.user = ActingUser(
            grant, actor=client.client_id, not_after=float(claims.expires_at)
        )
        self._scope = self._granted_scope(claims)

    def _check_target(self, data: dict[str, str]) -> None:
        """RFC 8693 2.1: `resource` and `audience` name where the token is for: the proxy only."""
        proxy = self.server.settings.proxy_resource
        for name in ("resource", "audience"):
            value = data.get(name)
            if value is not None and value != proxy:
                raise InvalidTargetError(
                    f"Tokens are exchanged for the proxy only: send {name}={proxy} or none."
                )

    def _subject_claims(self, subject_token: str, resource: str) -> AccessTokenClaims:
        try:
            claims = self.server.any_audience_verifier.verify(subject_token)
        except InvalidAccessToken:
            raise InvalidRequestError("The subject_token is invalid or has expired.") from None
        # An exchanged token is for the proxy, which no client may have as its resource
        # (Settings.check), so this also refuses exchanging an exchanged token.
        if resource not in claims.audiences:
            raise InvalidRequestError(
                "The subject_token was not issued for this client's resource."
            )
        return claims

    def _granted_scope(self, claims: AccessTokenClaims) -> str:
        """The requested scope within the subject token's; all of it when none is asked."""
        asked = scope_to_list(self.request.payload.scope) or []
        if not asked:
            return " ".join(sorted(claims.scopes))
        beyond = [scope for scope in asked if scope not in claims.scopes]
        if beyond:
            raise InvalidScopeError("The scope asked for goes beyond the subject_token's.")
        return " ".join(dict.fromkeys(asked))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        user: ActingUser = self.request.user
        token: dict[str, Any] = self.generate_token(
            user=user, scope=self._scope, include_refresh_token=False
        )
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)  # records the use of the grant; there is no refresh token
        log.info(
            "token exchanged",
            extra={"grant_id": user.grant.grant_id, "actor": user.actor},
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER
