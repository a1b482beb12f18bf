"""The user's grants, as Authlib grant subclasses that implement only the hooks: authorization
code (RFC 6749 4.1) with PKCE S256 required (RFC 7636, OAuth 2.1), and refresh token with
rotation and replay detection (RFC 9700 4.14.2). (Token exchange, RFC 8693, is in
`oauth.token_exchange`.)

Single use is enforced by the store's atomic consume: a second presentation of a code or a
refresh token revokes the whole grant, so whatever it issued stops working. One exception, for
refresh tokens: the same client retrying the refresh it just made (its answer was lost) within
`refresh_grace_seconds` gets the same answer again, as long as it has not used that answer's
refresh token yet (see `AuthorizationServer.rotation_retry`). The hooks run in Authlib's worker
thread and reach the async store through `server.call`.

RFC 8707 at /token: a `resource` sent with either grant must be the grant's own (the one named
at /authorize, or the proxy when none was); the token is for that resource alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9101.errors import RequestNotSupportedError, RequestUriNotSupportedError

from ..audit import Event, Outcome
from ..store.records import AuthorizationCode, Grant, RefreshToken, secret_hash
from .clients import Client
from .tokens import AuthorizedUser, random_token

if TYPE_CHECKING:
    from .server import AuthorizationServer


class InvalidTargetError(OAuth2Error):
    """RFC 8707 2: the requested resource is invalid, unknown, or not this grant's."""

    error = "invalid_target"


def check_resource(request: grants.OAuth2Request, granted: str | None, proxy: str) -> None:
    """RFC 8707 2.2: a `resource` at the token endpoint must be one the grant was authorized
    for: the resource named at /authorize, or the proxy when none was."""
    asked = request.payload.data.get("resource")
    if asked is not None and asked != (granted or proxy):
        raise InvalidTargetError(
            "The resource is not the one this sign-in was authorized for; send the resource "
            "of the authorization request, or none."
        )


class S256CodeChallenge(CodeChallenge):
    """PKCE, required for every client, S256 only: OAuth 2.1 drops `plain`."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's own attribute

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with method S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256; 'plain' and a missing method are refused."
            )
        super().validate_code_challenge(grant, redirect_uri)


class PlainRequestsOnly:
    """Refuse what an authorization request may carry that the bridge does not do, instead of
    ignoring it: a request object (`request`, `request_uri`: OIDC Core 6, RFC 9101), answered
    `request_not_supported` / `request_uri_not_supported`, and any `response_mode` but `query`
    (`invalid_request`), since a client asking for `form_post` or `fragment` expects the code
    somewhere the bridge will not put it. Runs once client and redirect URI are valid, before
    any other check of the request, so these errors go back through the redirect."""

    def __call__(self, grant: grants.BaseGrant) -> None:
        grant.register_hook("before_validate_authorization_request_payload", self.validate)

    def validate(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if "request" in data:
            raise RequestNotSupportedError(
                "Request objects are not supported: send the parameters in the query."
            )
        if "request_uri" in data:
            raise RequestUriNotSupportedError(
                "request_uri is not supported: send the parameters in the query."
            )
        if data.get("response_mode", "query") != "query":
            raise InvalidRequestError("Only response_mode=query is supported.")


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """An authorization code as Authlib's grant reads it back."""

    record: AuthorizationCode

    @property
    def code_challenge(self) -> str:
        return self.record.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    # OpenID Connect (Authlib's oidc.core AuthorizationCodeMixin) ---------------------------

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int | None:
        """None: `auth_time` comes from the grant (oauth.oidc), which the code only names."""
        return None

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None  # IB does not say how the user signed in (password, SSO, MFA)


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    record: RefreshToken
    # The live grant, when authenticating the token already loaded it (saves a second read).
    grant: Grant | None = None

    def check_client(self, client: Client) -> bool:
        return self.record.client_id == client.client_id

    def get_scope(self) -> str:
        return self.record.scope


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012 - Authlib's own attribute
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    server: AuthorizationServer

    def generate_authorization_code(self) -> str:
        return random_token(36)  # 48 characters, one read of the random source

    def save_authorization_code(self, code: str, request: grants.OAuth2Request) -> None:
        user: AuthorizedUser = request.user
        data = request.payload.data
        server = self.server
        server.call(
            server.codes.put_code,
            secret_hash(code),
            AuthorizationCode(
                grant_id=user.grant.grant_id,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                scope=request.scope,
                resource=user.grant.resource,
                expires_at=server.clock() + server.settings.code_ttl,
                nonce=data.get("nonce"),
            ),
        )
        server.audit.emit(
            Event.CODE_ISSUED,
            client_id=request.client.get_client_id(),
            ib_user_id=user.grant.user.get("sub"),
            grant_id=user.grant.grant_id,
        )

    def query_authorization_code(self, code: str, client: Client) -> IssuedCode | None:
        server = self.server
        consumed = server.call(server.codes.consume_code, secret_hash(code))
        record = consumed.record
        if record is None:
            return None
        if not consumed.first_use:
            # RFC 6749 4.1.2: a code used twice revokes what it issued.
            server.audit.emit(
                Event.CODE_REUSE,
                Outcome.REVOKED,
                client_id=record.client_id,
                grant_id=record.grant_id,
            )
            server.call(server.end_grant, record.grant_id, "authorization code replayed")
            return None
        if record.client_id != client.client_id:
            return None
        # Kept until the login page could still replace the code (login_flow.confirm); a code
        # replaced already (the clock of the worker that replaced it saw it expired) is dead.
        until = server.clock() + server.settings.login_ttl
        if not server.call(server.settle_code, code, until):
            return None
        check_resource(self.request, record.resource, server.settings.proxy_resource)
        return IssuedCode(record)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing to do: consume_code already marked the code used, and the used record stays
        until it expires so that a replay can be recognised."""

    def authenticate_user(self, authorization_code: IssuedCode) -> AuthorizedUser | None:
        grant = self.server.call(self.server.live_grant, authorization_code.record.grant_id)
        return AuthorizedUser(grant) if grant and grant_use_allowed(self.server, grant) else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012 - Authlib's own attribute
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: AuthorizationServer
    # Per request (Authlib makes a grant object for each): the consumed token's key, and the
    # answer to repeat when the request is a retry within the grace window.
    _consumed_key: str | None = None
    _repeat: dict[str, Any] | None = None

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefreshToken | None:
        server = self.server
        key = secret_hash(refresh_token)
        if "resource" in self.request.payload.data:
            # Checked before the token is consumed, so a wrong resource costs it nothing.
            peeked = server.call(server.refresh_tokens.get_refresh_token, key)
            grant = server.call(server.live_grant, peeked.grant_id) if peeked else None
            if grant is not None:
                check_resource(self.request, grant.resource, server.settings.proxy_resource)
        consumed = server.call(server.refresh_tokens.consume_refresh_token, key)
        record = consumed.record
        if record is None:
            return None
        if not consumed.first_use:
            repeat = server.call(server.rotation_retry, key, record, self.request.client)
            if repeat is None:
                # RFC 9700 4.14.2: the grant is revoked; the fraud rules raise the alert.
                server.audit.emit(
                    Event.TOKEN_REFRESH_REUSE,
                    Outcome.REVOKED,
                    client_id=record.client_id,
                    grant_id=record.grant_id,
                )
                server.call(server.end_grant, record.grant_id, "refresh token replayed")
                return None
            server.audit.emit(
                Event.TOKEN_REFRESH_GRACE, client_id=record.client_id, grant_id=record.grant_id
            )
            self._repeat = repeat
            return IssuedRefreshToken(record)
        self._consumed_key = key
        grant = server.call(server.live_grant, record.grant_id)
        if grant is None:
            return None
        if grant.refresh_count >= server.settings.max_refreshes:
            server.call(server.end_grant, grant.grant_id, "refresh limit reached")
            return None
        if not grant_use_allowed(server, grant):
            return None
        return IssuedRefreshToken(record, grant)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """A retry within the grace window gets the rotation's answer again, as it was (no new
        tokens, no refresh counted); a first use rotates, then keeps its answer, sealed, on
        the consumed token's row for the window."""
        if self._repeat is not None:
            return 200, self._repeat, self.TOKEN_RESPONSE_HEADER
        status, token, headers = super().create_token_response()
        if self._consumed_key is not None:
            self.server.call(self.server.keep_rotation, self._consumed_key, token)
        return status, token, headers

    def authenticate_user(self, refresh_token: IssuedRefreshToken) -> AuthorizedUser | None:
        grant = refresh_token.grant or self.server.call(
            self.server.live_grant, refresh_token.record.grant_id
        )
        return AuthorizedUser(grant) if grant else None

    def revoke_old_credential(self, refresh_token: IssuedRefreshToken) -> None:
        """Nothing to do: the old token was consumed when it was read, and saving the new one
        counts the refresh on the grant (server.save_token)."""


def grant_is_idle(grant: Grant, idle_timeout: int, now: float) -> bool:
    return now - grant.last_used_at > idle_timeout


def grant_use_allowed(server: AuthorizationServer, grant: Grant) -> bool:
    """Tell the fraud rules of a use of `grant` from the current request's address; False
    (the grant ended) when one used from too many addresses is to be revoked."""
    verdict = server.audit.grant_used(
        grant.grant_id, client_id=grant.client_id, ib_user_id=grant.user.get("sub")
    )
    if verdict.revoke:
        server.call(server.end_grant, grant.grant_id, "used from too many addresses")
        return False
    return True
