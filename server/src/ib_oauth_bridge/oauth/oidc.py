"""OpenID Connect on Authlib's OIDC core: an `id_token` beside the access token when the
grant's scope has `openid`, and the claims each scope releases.

The ID token is an ES256 JWT signed with the bridge's current key (its `kid` in the header):
`iss`, `sub` (IB's user id), `aud` (the client id), `iat`, `exp`, `auth_time` (when the sign-in
completed), `at_hash`, `nonce` (when the authorization request sent one), and the identity
claims the scopes release. Like the access token it is timed by the injected clock and never
outlives the IB session.

Which claims each scope releases (the same rule for the ID token and /userinfo):
    sub                                   always
    name, given_name, family_name         profile
    email                                 email (no `email_verified`: IB does not say)
    ib_client_id, ib_client_name,         ib.read or ib.write, at /userinfo only: the
    ib_api_url, ib_platform_url           coordinates a client needs to call the IB API
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken
from joserfc.jwk import ECKey

from ..clock import Clock
from ..store.records import secret_hash
from .clients import Client
from .keys import ALGORITHM, SigningKeys
from .tokens import AuthorizedUser, token_lifetime

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name"),
    "email": ("email",),
}
IB_SCOPES = frozenset({"ib.read", "ib.write"})
IB_CLAIMS = ("ib_client_id", "ib_client_name", "ib_api_url", "ib_platform_url")
# Every claim the bridge can release, for discovery's `claims_supported`.
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
    *IB_CLAIMS,
)


def released_claims(
    user: dict[str, str], subject: str, scopes: Iterable[str], *, ib_claims: bool
) -> dict[str, str]:
    """The user's claims that `scopes` release: `sub` always, the identity claims of `profile`
    and `email`, and (when `ib_claims`, for /userinfo) IB's coordinates to tokens that may
    call the IB API. Claims IB did not send are left out, never sent empty."""
    granted = set(scopes)
    names = [name for scope, claims in SCOPE_CLAIMS.items() if scope in granted for name in claims]
    if ib_claims and granted & IB_SCOPES:
        names.extend(IB_CLAIMS)
    return {"sub": subject, **{name: user[name] for name in names if user.get(name)}}


def nonce_key(client_id: str, nonce: str) -> str:
    """The replay cache's key for a nonce spent with a code of this client."""
    return secret_hash(f"oidc-nonce\0{client_id}\0{nonce}")


class _BridgeIDToken:
    """What both OpenID extensions share: the key, the claims and the clock. Overrides the hooks
    of Authlib's `OpenIDToken` (its defaults read the wall clock and sign with RS256)."""

    def __init__(self, issuer: str, keys: SigningKeys, ttl: int, clock: Clock) -> None:
        self._issuer = issuer
        self._keys = keys
        self._ttl = ttl
        self._clock = clock

    def resolve_client_private_key(self, client: Client) -> ECKey:
        return self._keys.current

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self._keys.current.kid or ""}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self._issuer, "aud": client.get_client_id()}

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, Any]:
        """The ID token's base claims. Authlib's own reads `time.time()`; these follow the
        injected clock and end with the IB session, as the access token does."""
        user: AuthorizedUser = request.user
        now = int(self._clock())
        return {
            **self.get_client_claims(request.client),
            "iat": now,
            "exp": now + token_lifetime(user.grant, self._ttl, now),
            # When the user signed in (the grant was made), also on refresh (OIDC Core 12.2).
            "auth_time": int(user.grant.created_at),
        }

    def generate_user_info(self, user: AuthorizedUser, scope: str) -> UserInfo:
        claims = released_claims(
            user.grant.user, user.get_user_id(), scope.split(), ib_claims=False
        )
        return UserInfo(claims)


class OpenIDCodeExtension(_BridgeIDToken, OpenIDCode):
    """OpenID Connect on the authorization-code grant: validates `nonce` (and `prompt`) on the
    authorization request, adds `id_token` to the token response."""

    def __init__(
        self,
        issuer: str,
        keys: SigningKeys,
        ttl: int,
        clock: Clock,
        *,
        spend_nonce: Callable[[str, AuthorizedUser], bool],
    ) -> None:
        _BridgeIDToken.__init__(self, issuer, keys, ttl, clock)
        OpenIDCode.__init__(self, require_nonce=False)
        self._spend_nonce = spend_nonce

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        try:
            super().validate_openid_authorization_request(grant, redirect_uri)
        except InvalidRequestError as error:
            if error.description != "Replay attack":  # Authlib's words for a known nonce
                raise
            raise InvalidRequestError(
                "This nonce was already used in a sign-in of this client: send a new one.",
                redirect_uri=redirect_uri,
            ) from None

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """Whether this client already had a code issued with this nonce.

        Authlib asks twice per sign-in: when /authorize opens (no user yet) and when the login
        is done and the code is issued (the stored request is replayed with the user). Only
        the second asks the store, and it records the nonce in the same atomic step, so two
        codes can never carry one nonce. The first answers "not seen": the replay cache has no
        read that does not record, and recording there would refuse a plain reload of the
        sign-in link before any code was issued.
        """
        user: AuthorizedUser | None = request.user
        if user is None:
            return False
        return not self._spend_nonce(nonce_key(request.payload.client_id, nonce), user)


class OpenIDRefreshExtension(_BridgeIDToken, OpenIDToken):
    """An `id_token` on refresh too, when the refreshed scope has `openid` (OIDC Core 12.2):
    same `iss`, `sub`, `aud` and `auth_time`, a new `iat`/`exp`, no `nonce`."""
