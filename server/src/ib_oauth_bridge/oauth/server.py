"""Authlib's AuthorizationServer plugged into the bridge, the way Authlib's Flask integration
plugs it into Flask: query_client, save_token, create_oauth2_request, handle_response.

Authlib's grant machinery is synchronous and the store is async. The async entry points here
(`token_response`, `endpoint_response`, `consent`, `authorization_response`) run Authlib in a
worker thread, and its hooks reach the store back on the event loop through `call`, so the loop
never blocks and a networked store needs no second code path.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.from_thread
import anyio.to_thread
from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.grants import AuthorizationEndpointMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc9207 import IssuerParameter

from ..audit import Audit, Event, Outcome
from ..clock import Clock
from ..settings import Settings
from ..store.crypto import SidCipher, SidDecryptionError, seal_text, unseal_text
from ..store.protocols import CodeStore, GrantStore, RefreshTokenStore, ReplayCache
from ..store.records import Grant, RefreshToken, secret_hash
from .client_auth import register_client_auth
from .clients import SUPPORTED_SCOPES, Client, ClientLookup
from .grants import (
    AuthorizationCodeGrant,
    PlainRequestsOnly,
    RefreshTokenGrant,
    S256CodeChallenge,
    grant_is_idle,
)
from .introspection import IntrospectionEndpoint
from .keys import SigningKeys
from .oidc import OpenIDCodeExtension, OpenIDRefreshExtension
from .requests import BridgeJsonRequest, BridgeOAuth2Request
from .revocation import RevocationEndpoint
from .token_exchange import TokenExchangeGrant
from .tokens import AccessTokenGenerator, AccessTokenVerifier, AuthorizedUser, UserinfoVerifier

log = logging.getLogger("ib_oauth_bridge.oauth")
# Scope tokens as RFC 6749 3.3 spells them, safe to echo in an error description.
_SCOPE_TOKENS = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
T = TypeVar("T")
Args = TypeVarTuple("Args")
# How long a refresh retry waits for the rotation it raced to store its answer (real time:
# the rotation is local work, milliseconds; this only bounds a rotation that failed).
ROTATION_WAIT_SECONDS = 5.0
ROTATION_POLL_SECONDS = 0.02


class _Issuer(IssuerParameter):
    """RFC 9207: `iss` on every authorization response, errors included."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer


@dataclass(slots=True)
class OAuthResponse:
    """What Authlib answers, before the HTTP layer turns it into a response."""

    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str | None:  # Authlib's RFC 9207 extension edits this
        return self.headers.get("location")

    @location.setter
    def location(self, value: str) -> None:
        self.headers["location"] = value


class AuthorizationServer(_AuthorizationServer):
    def __init__(
        self,
        settings: Settings,
        *,
        grants: GrantStore,
        codes: CodeStore,
        refresh_tokens: RefreshTokenStore,
        replay: ReplayCache,
        clients: ClientLookup,
        keys: SigningKeys,
        cipher: SidCipher,
        clock: Clock,
        audit: Audit,
    ) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self.settings = settings
        self.audit = audit
        self.grants = grants
        self.codes = codes
        self.refresh_tokens = refresh_tokens
        self.replay = replay
        self.clients = clients
        self.cipher = cipher
        self.clock = clock
        # Told the id of every grant this process ends (the proxy's session cache listens).
        self.grant_listeners: list[Callable[[str], None]] = []
        self.issuer_parameter = _Issuer(settings.issuer)
        self.register_token_generator(
            "default",
            AccessTokenGenerator(
                settings.issuer, keys, settings.access_token_ttl, settings.proxy_resource, clock
            ),
        )
        id_token = (settings.issuer, keys, settings.access_token_ttl, clock)
        self.register_grant(
            AuthorizationCodeGrant,
            [
                PlainRequestsOnly(),
                S256CodeChallenge(required=True),
                OpenIDCodeExtension(*id_token, spend_nonce=self._spend_nonce),
            ],
        )
        self.register_grant(RefreshTokenGrant, [OpenIDRefreshExtension(*id_token)])
        self.register_grant(TokenExchangeGrant)
        self.register_extension(self.issuer_parameter)
        register_client_auth(self.register_client_auth_method)
        # The proxy's: only tokens whose audience is the proxy.
        self.verifier = AccessTokenVerifier(
            keys, settings.issuer, settings.proxy_resource, clock=clock
        )
        # /userinfo's: proxy tokens, and OpenID sign-ins for any resource.
        self.userinfo_verifier = UserinfoVerifier(
            keys, settings.issuer, settings.proxy_resource, clock=clock
        )
        # Any audience: revocation, introspection (the resource server checks `aud` itself),
        # and the subject tokens of a token exchange (which check the client's resource).
        self.any_audience_verifier = AccessTokenVerifier(keys, settings.issuer, None, clock=clock)
        self.register_endpoint(RevocationEndpoint(self.any_audience_verifier.verify))
        self.register_endpoint(IntrospectionEndpoint(self.any_audience_verifier))

    # From Authlib's worker thread back to the store on the event loop ----------------------

    def call(self, function: Callable[[Unpack[Args]], Coroutine[Any, Any, T]], *args: *Args) -> T:
        return anyio.from_thread.run(function, *args)

    # Async entry points for the HTTP layer --------------------------------------------------

    async def token_response(self, request: BridgeOAuth2Request) -> OAuthResponse:
        response: OAuthResponse = await anyio.to_thread.run_sync(
            self.create_token_response, request
        )
        if response.status_code == 400 and request.payload.grant_type == "authorization_code":
            self._audit_failed_exchange(request, response)
        return response

    def _audit_failed_exchange(self, request: BridgeOAuth2Request, response: OAuthResponse) -> None:
        """A code exchange refused for its code, redirect URI or PKCE verifier (not for a
        malformed request): audited, and counted by the fraud rules against the address and,
        when it authenticated with a secret, the client."""
        try:
            body = json.loads(response.body)
        except ValueError:
            return
        error = body.get("error") if isinstance(body, dict) else None
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        pkce = "code_verifier" in description or "Code challenge" in description
        if error != "invalid_grant" and not (error == "invalid_request" and pkce):
            return
        self.audit.emit(
            Event.CODE_EXCHANGE_FAILED,
            Outcome.FAILURE,
            client_id=request.authenticated_client_id,
            client_authenticated=request.authenticated_with_secret,
            reason="pkce" if pkce else "invalid_grant",
        )

    async def endpoint_response(
        self, name: str, request: BridgeOAuth2Request | BridgeJsonRequest
    ) -> OAuthResponse:
        response: OAuthResponse = await anyio.to_thread.run_sync(
            self.create_endpoint_response, name, request
        )
        return response

    async def consent(
        self, request: BridgeOAuth2Request, user: AuthorizedUser | None = None
    ) -> AuthorizationEndpointMixin:
        """Validate an authorization request (client, redirect URI, PKCE, scope): the grant
        that will answer it, or Authlib's OAuth2Error."""

        def validate() -> AuthorizationEndpointMixin:
            grant: AuthorizationEndpointMixin = self.get_consent_grant(request, end_user=user)
            return grant

        return await anyio.to_thread.run_sync(validate)

    async def authorization_response(
        self, request: BridgeOAuth2Request, user: AuthorizedUser
    ) -> OAuthResponse:
        """Issue the code for a validated request on behalf of `user` (the login is done)."""

        def respond() -> OAuthResponse:
            # Validated once, here, with the user known: the OpenID nonce is spent as the
            # request is validated, so validating it twice would refuse it the second time.
            request.user = user
            grant = self.get_authorization_grant(request)
            response: OAuthResponse = self.create_authorization_response(
                request, grant_user=user, grant=grant
            )
            return response

        return await anyio.to_thread.run_sync(respond)

    # Authlib's hooks (called in the worker thread) -------------------------------------------

    def validate_requested_scope(self, scope: str | None) -> None:
        """Refuse any scope the bridge does not know, naming the ones it does (Authlib's own
        check says only `invalid_scope`)."""
        unknown = [s for s in scope_to_list(scope) or [] if s not in SUPPORTED_SCOPES]
        if unknown:
            named = " ".join(unknown) if _SCOPE_TOKENS.fullmatch(" ".join(unknown)) else ""
            raise InvalidScopeError(
                (f"Unknown scope: {named[:200]}. " if named else "Unknown scope. ")
                + "Supported scopes: "
                + " ".join(SUPPORTED_SCOPES)
                + "."
            )

    def _spend_nonce(self, key: str, user: AuthorizedUser) -> bool:
        """Record an OpenID nonce as spent by a code; False when it already was. Remembered
        until the IB session ends: no ID token carrying it can live longer. A code reissued
        for the same grant (`user.reissue`: its first code expired unused, settled by
        `settle_code`, so no ID token carries the nonce) may carry it again."""
        spent = self.call(self.replay.remember, key, user.grant.session_expires_at)
        return spent or user.reissue

    def query_client(self, client_id: str) -> Client | None:
        return self.call(self.clients.get, client_id)

    def save_token(self, token: dict[str, Any], request: BridgeOAuth2Request) -> None:
        grant_type = request.payload.grant_type or ""
        self.call(self._save_token, token, request.user, request.client, grant_type)

    async def _save_token(
        self, token: dict[str, Any], user: AuthorizedUser, client: Client, grant_type: str
    ) -> None:
        """Record the use of the grant (one more refresh when this is one) and keep the new
        refresh token's hash: one trip from Authlib's thread to the store, one grant write."""
        now = self.clock()
        refreshed = grant_type == "refresh_token"
        await self.grants.touch_grant(user.grant.grant_id, last_used_at=now, refreshed=refreshed)
        event = {
            "authorization_code": Event.CODE_EXCHANGED,
            "refresh_token": Event.TOKEN_REFRESHED,
        }.get(grant_type, Event.TOKEN_EXCHANGED)
        self.audit.emit(
            event,
            client_id=client.get_client_id(),
            ib_user_id=ib_user_of(user.grant),
            grant_id=user.grant.grant_id,
        )
        refresh_token = token.get("refresh_token")
        if refresh_token:
            expires_at = min(
                user.grant.session_expires_at, now + self.settings.refresh_idle_timeout
            )
            await self.refresh_tokens.put_refresh_token(
                secret_hash(refresh_token),
                RefreshToken(
                    grant_id=user.grant.grant_id,
                    client_id=client.get_client_id(),
                    scope=token.get("scope", ""),
                    expires_at=expires_at,
                ),
            )

    def create_oauth2_request(self, request: BridgeOAuth2Request) -> BridgeOAuth2Request:
        return request

    def create_json_request(self, request: BridgeJsonRequest) -> BridgeJsonRequest:
        return request

    def handle_response(
        self, status_code: int, payload: object, headers: list[tuple[str, str]]
    ) -> OAuthResponse:
        body = json.dumps(payload) if isinstance(payload, dict) else str(payload or "")
        return OAuthResponse(status_code, body, {name.lower(): value for name, value in headers})

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """Authlib's signals: `after_authenticate_client` (a grant at /token authenticated its
        client: remembered on the request, for the audit of a failed exchange and the fraud
        rule that counts it per confidential client) and `after_revoke_token` (RFC 7009)."""
        if name == "after_authenticate_client":
            grant = kwargs.get("grant")
            client = kwargs.get("client")
            request = getattr(grant, "request", None)
            if isinstance(request, BridgeOAuth2Request) and isinstance(client, Client):
                request.authenticated_client_id = client.client_id
                method = client.token_endpoint_auth_method
                request.authenticated_with_secret = method != "none"
        elif name == "after_revoke_token":
            token = kwargs.get("token")
            self.audit.emit(
                Event.TOKEN_REVOKED,
                client_id=getattr(token, "client_id", None),
                grant_id=getattr(token, "grant_id", None),
            )

    # The bridge's own grant lifecycle -------------------------------------------------------

    async def live_grant(self, grant_id: str) -> Grant | None:
        """The grant, if it exists, is not revoked, its IB session has not ended, and it has
        not sat unused longer than the idle timeout (which then ends it)."""
        grant = await self.grants.get_grant(grant_id)
        if grant is None:
            return None
        if grant_is_idle(grant, self.settings.refresh_idle_timeout, self.clock()):
            await self.end_grant(grant_id, reason="idle timeout")
            return None
        return grant

    async def settle_code(self, code: str, until: float) -> bool:
        """Settle an authorization code's fate, once and atomically: True for the first caller,
        False for every later one (until `until`). Its exchange at /token settles it (and is
        refused when it loses), and so does the login page's Continue when it replaces an
        expired code with a fresh one: a code is either exchanged or replaced, never both."""
        return await self.replay.remember(secret_hash(f"code-settled\0{code}"), until)

    async def end_grant(self, grant_id: str, reason: str) -> None:
        await self.grants.revoke_grant(grant_id)
        for listener in self.grant_listeners:
            listener(grant_id)
        log.info("grant revoked", extra={"grant_id": grant_id, "reason": reason})
        self.audit.emit(
            Event.GRANT_ENDED, Outcome.REVOKED, grant_id=grant_id, reason=reason_code(reason)
        )

    # Refresh with grace: an idempotent retry of the last rotation -------------------------

    async def keep_rotation(self, key: str, token: dict[str, Any]) -> None:
        """Keep the answer of the refresh that consumed the token under `key`, sealed with the
        sid cipher and bound to that key, for the grace window."""
        grace = self.settings.refresh_grace_seconds
        if grace <= 0:
            return
        now = self.clock()
        answer = {"token": token, "expires_at": now + int(token.get("expires_in", 0))}
        sealed = seal_text(self.cipher, json.dumps(answer), context=key)
        await self.refresh_tokens.keep_successor(key, sealed, now + grace)

    async def rotation_retry(
        self, key: str, record: RefreshToken, client: Client
    ) -> dict[str, Any] | None:
        """The answer to repeat for a second presentation of the refresh token under `key`, or
        None when this is a replay to punish: another client, the grace window over, or the
        successor refresh token already used (or gone). A retry racing the rotation waits for
        its answer."""
        if self.settings.refresh_grace_seconds <= 0 or record.client_id != client.client_id:
            return None
        deadline = time.monotonic() + ROTATION_WAIT_SECONDS
        while record.successor is None:
            if record.successor_until is not None or time.monotonic() >= deadline:
                return None  # the window is over, or the rotation failed
            await anyio.sleep(ROTATION_POLL_SECONDS)
            consumed = await self.refresh_tokens.consume_refresh_token(key)
            if consumed.record is None:
                return None  # the grant was revoked meanwhile
            record = consumed.record
        try:
            answer = json.loads(unseal_text(self.cipher, record.successor, context=key))
            token: dict[str, Any] = dict(answer["token"])
            successor_key = secret_hash(str(token["refresh_token"]))
            expires_at = float(answer["expires_at"])
        except (SidDecryptionError, ValueError, TypeError, KeyError):
            return None
        successor = await self.refresh_tokens.get_refresh_token(successor_key)
        if successor is None or successor.used:
            # The client has moved on (this presentation is not its retry), or the grant has
            # ended: revoked, or past its IB session or idle timeout, which the successor's
            # own expiry never exceeds.
            return None
        token["expires_in"] = max(1, int(expires_at - self.clock()))
        return token


def reason_code(text: str) -> str:
    """A reason written for people in the bridge's own source as an audit reason code."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64] or "other"


def ib_user_of(grant: Grant) -> str | None:
    """The IB user's id (IB's user UUID, the `sub` of the bridge's tokens) behind a grant."""
    value = grant.user.get("sub")
    return str(value) if value else None
