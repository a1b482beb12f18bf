"""Authlib's AuthorizationServer plugged into Starlette, the way Authlib's Flask integration
plugs it into Flask: query_client, save_token, create_oauth2_request, handle_response.

Everything here is synchronous and touches only the local store, so handlers may call it
directly on the event loop (SQLite calls take microseconds) or via run_in_threadpool.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc9207 import IssuerParameter
from starlette.responses import Response

from ..settings import Settings
from ..store.base import Grant, RefreshToken, Store, secret_hash
from .clients import SUPPORTED_SCOPES, Client, ClientRegistry
from .grants import AuthorizationCodeGrant, RefreshTokenGrant, S256CodeChallenge, grant_is_idle
from .keys import SigningKeys
from .requests import StarletteOAuth2Request
from .revocation import RevocationEndpoint
from .tokens import AccessTokenGenerator, AccessTokenVerifier, AuthorizedUser

log = logging.getLogger("ib_oauth_bridge.oauth")


class _Issuer(IssuerParameter):
    """RFC 9207: `iss` on every authorization response, errors included."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer


class OAuthResponse(Response):
    """A Starlette response with the `location` attribute Authlib's RFC 9207 extension edits."""

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    @location.setter
    def location(self, value: str) -> None:
        self.headers["location"] = value


class AuthorizationServer(_AuthorizationServer):
    def __init__(
        self, settings: Settings, store: Store, clients: ClientRegistry, keys: SigningKeys
    ) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self.settings = settings
        self.store = store
        self.clients = clients
        self.issuer_parameter = _Issuer(settings.issuer)
        self.register_token_generator(
            "default",
            AccessTokenGenerator(
                settings.issuer, keys, settings.access_token_ttl, settings.proxy_resource
            ),
        )
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_extension(self.issuer_parameter)
        self.verifier = AccessTokenVerifier(
            keys.verification_set, settings.issuer, settings.proxy_resource
        )
        self.register_endpoint(RevocationEndpoint(self.verifier.verify))

    # Authlib's hooks -------------------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: StarletteOAuth2Request) -> None:
        refresh_token = token.get("refresh_token")
        user: AuthorizedUser = request.user
        now = time.time()
        self.store.touch_grant(user.grant.grant_id, last_used_at=now, refreshed=False)
        if refresh_token:
            expires_at = min(
                user.grant.session_expires_at, now + self.settings.refresh_idle_timeout
            )
            self.store.put_refresh_token(
                secret_hash(refresh_token),
                RefreshToken(
                    grant_id=user.grant.grant_id,
                    client_id=request.client.get_client_id(),
                    scope=token.get("scope", ""),
                    expires_at=expires_at,
                ),
            )

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(
        self, status_code: int, payload: object, headers: list[tuple[str, str]]
    ) -> OAuthResponse:
        body = json.dumps(payload) if isinstance(payload, dict) else str(payload or "")
        response = OAuthResponse(body, status_code=status_code)
        for name, value in headers:
            response.headers[name] = value
        return response

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """Authlib's signals (client authenticated, token revoked): nothing listens yet."""

    # The bridge's own grant lifecycle -------------------------------------------------------

    def live_grant(self, grant_id: str) -> Grant | None:
        """The grant, if it exists, is not revoked, its IB session has not ended, and it has
        not sat unused longer than the idle timeout (which then ends it)."""
        grant = self.store.get_grant(grant_id)
        if grant is None:
            return None
        if grant_is_idle(grant, self.settings.refresh_idle_timeout, time.time()):
            self.end_grant(grant_id, reason="idle timeout")
            return None
        return grant

    def end_grant(self, grant_id: str, *, reason: str) -> None:
        self.store.revoke_grant(grant_id)
        log.info("grant revoked", extra={"grant_id": grant_id, "reason": reason})
