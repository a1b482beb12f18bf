"""Access tokens: RFC 9068 JWTs minted through Authlib's generator, and their verification.

An access token names its grant (`grant_id`) but never carries the IB sid. Its lifetime is the
configured TTL, cut short by the end of the IB session: nothing outlives the IB session.
Refresh tokens are opaque random strings; the store keeps only their hash.

Audiences (RFC 8707): a token asked for `resource=R` has `aud=[R]` and nothing else, so a token
a client sends to a third-party resource server (an MCP server) cannot be replayed at the proxy;
a token asked for no resource is for the proxy (`<issuer>/proxy`). A resource server that calls
IB for the user exchanges the user's token (RFC 8693, `oauth.token_exchange`) for a proxy token
that names it in `act` (an `ActingUser` here).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet

from ..clock import Clock, system_clock
from ..store.records import Grant
from .clients import Client
from .keys import ALGORITHM, SigningKeys

REFRESH_TOKEN_BYTES = 36  # 48 characters of base64url, 288 bits


def random_token(nbytes: int) -> str:
    """A random base64url token from one read of the OS's random source. Authlib's own
    `generate_token` picks each character with its own call (a system call each): measured,
    a fifth of a refresh's CPU here."""
    return secrets.token_urlsafe(nbytes)


VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class AuthorizedUser:
    """The resource owner as Authlib's grants see it: a live grant of ours."""

    grant: Grant
    # A second code for the grant, its first having expired unused (login_flow.confirm).
    reissue: bool = False

    def get_user_id(self) -> str:
        return self.grant.user.get("sub") or self.grant.grant_id


@dataclass(frozen=True, slots=True)
class ActingUser(AuthorizedUser):
    """The user of a token exchange (RFC 8693): a proxy token for `grant`, requested by the
    resource server `actor`, that lives no longer than the subject token (`not_after`)."""

    actor: str = ""
    not_after: float = 0.0


def token_lifetime(grant: Grant, ttl: int, now: float) -> int:
    """Seconds an access token for this grant may live: the TTL, capped at the IB session end."""
    remaining = int(grant.session_expires_at - now)
    return max(1, min(ttl, remaining))


class AccessTokenGenerator(JWTBearerTokenGenerator):
    def __init__(
        self, issuer: str, keys: SigningKeys, ttl: int, default_audience: str, clock: Clock
    ) -> None:
        super().__init__(
            issuer,
            alg=ALGORITHM,
            refresh_token_generator=lambda *args, **kwargs: random_token(REFRESH_TOKEN_BYTES),
        )
        self._keys = keys
        self._ttl = ttl
        self._default_audience = default_audience
        self._clock = clock

    def get_jwks(self) -> KeySet:
        return self._keys.signing_set

    def generate(
        self,
        grant_type: str,
        client: Client,
        user: AuthorizedUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        assert user is not None, "every token of the bridge belongs to a user's grant"
        token: dict[str, Any] = super().generate(
            grant_type,
            client,
            user=user,
            scope=scope,
            expires_in=self._lifetime(user, int(self._clock())),
            include_refresh_token=include_refresh_token,
        )
        return token

    def _lifetime(self, user: AuthorizedUser, now: float) -> int:
        lifetime = token_lifetime(user.grant, self._ttl, now)
        if isinstance(user, ActingUser):
            lifetime = max(1, min(lifetime, int(user.not_after - now)))
        return lifetime

    def get_audiences(self, client: Client, user: AuthorizedUser, scope: str) -> list[str]:
        """RFC 8707: the grant's resource alone (the /token grants refuse any other); the
        proxy when the grant named none, and always for a token exchange."""
        if isinstance(user, ActingUser):
            return [self._default_audience]
        return [user.grant.resource or self._default_audience]

    def get_jti(self, client: Client, grant_type: str, user: AuthorizedUser, scope: str) -> str:
        return random_token(12)

    def get_auth_time(self, user: AuthorizedUser) -> int:
        return int(user.grant.created_at)

    def get_extra_claims(
        self, client: Client, grant_type: str, user: AuthorizedUser, scope: str
    ) -> dict[str, Any]:
        # Overrides the generator's own `iat` and `exp`: the generator reads the wall clock and
        # knows nothing of the IB session's end.
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iat": now,
            "exp": now + self._lifetime(user, now),
            "grant_id": user.grant.grant_id,
        }
        if isinstance(user, ActingUser):
            claims["act"] = {"sub": user.actor}  # RFC 8693 4.1: who acts for the user
        return claims


class InvalidAccessToken(Exception):
    """The token is not one this bridge would accept; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    subject: str
    client_id: str
    grant_id: str
    scopes: frozenset[str]
    audiences: tuple[str, ...]
    expires_at: int
    raw: dict[str, Any]

    @property
    def actor(self) -> str | None:
        """RFC 8693 4.1: the client acting for the user (`act.sub`) in an exchanged token."""
        act = self.raw.get("act")
        sub = act.get("sub") if isinstance(act, dict) else None
        return sub if isinstance(sub, str) else None

    def issued_under(self, grant: Grant) -> bool:
        """Whether these claims belong to `grant`: issued to the grant's client, or exchanged
        (RFC 8693) by the resource server it names as the actor, which is then its
        `client_id` (RFC 9068 2.2: the client that requested the token). Its `sub` must be
        the grant's user, as minted (`AuthorizedUser.get_user_id`)."""
        if self.grant_id != grant.grant_id:
            return False
        if self.subject != (grant.user.get("sub") or grant.grant_id):
            return False
        return grant.client_id == self.client_id or (
            self.actor is not None and self.actor == self.client_id
        )


class RemoteJWKS:
    """The bridge's public keys for a resource server elsewhere (an MCP server, say), fetched
    from its `jwks_uri` and fetched again when a token names a key not seen yet (rotation),
    at most once per `min_refresh_interval` seconds."""

    def __init__(
        self, jwks_uri: str, *, min_refresh_interval: float = 60.0, timeout: float = 10.0
    ) -> None:
        self.jwks_uri = jwks_uri
        self._min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, token: GuestProtocol) -> KeySet:
        kid = token.headers().get("kid")
        with self._lock:
            stale = time.monotonic() - self._fetched_at > self._min_refresh_interval
            if self._keys is None or (stale and not self._knows(kid)):
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            return self._keys

    def _knows(self, kid: str | None) -> bool:
        return self._keys is not None and any(key.kid == kid for key in self._keys.keys)

    def _fetch(self) -> KeySet:
        try:
            response = httpx.get(self.jwks_uri, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, TypeError) as exc:
            if self._keys is not None:
                return self._keys  # keep verifying with the keys we have
            raise InvalidAccessToken(
                f"The bridge's keys could not be fetched ({type(exc).__name__})."
            ) from None


class AccessTokenVerifier:
    """Checks an RFC 9068 access token: signature, `typ`, issuer, audience, expiry.

    `keys` is the bridge's own key ring inside the bridge (retired keys stop verifying at
    once), a fixed KeySet, or a `RemoteJWKS` elsewhere.
    `audience` None accepts any audience: only for introspection, which reports `aud` to a
    resource server that then checks it.
    """

    def __init__(
        self,
        keys: SigningKeys | KeySet | RemoteJWKS,
        issuer: str,
        audience: str | None,
        leeway: int = 5,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._keys = keys
        # Fetching remote keys is network I/O: async callers run such a verifier in a thread.
        self.may_block = isinstance(keys, RemoteJWKS)
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        self._verified: dict[str, tuple[AccessTokenClaims, str | None]] = {}
        self._cache_lock = threading.Lock()
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(clock()),
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )

    def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or InvalidAccessToken. A token verified before is taken from a
        small cache until it expires, or until the key that signed it is retired: the same
        bytes always verify the same way, and this skips the signature check on every call of
        a busy client."""
        cached = self._verified.get(token)
        if cached is not None:
            claims, kid = cached
            if claims.expires_at + self._leeway > self._clock() and self._key_live(kid):
                return claims
            self._verified.pop(token, None)
        claims, kid = self._verify(token)
        with self._cache_lock:  # verifiers of remote keys run in a thread pool
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest entry
            self._verified[token] = (claims, kid)
        return claims

    def _key_live(self, kid: str | None) -> bool:
        return not isinstance(self._keys, SigningKeys) or self._keys.knows(kid)

    def _verify(self, token: str) -> tuple[AccessTokenClaims, str | None]:
        keys = self._keys.verification_set if isinstance(self._keys, SigningKeys) else self._keys
        try:
            decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            raise InvalidAccessToken("The access token is invalid or has expired.") from None
        if decoded.header.get("typ") not in {"at+jwt", "application/at+jwt"}:
            raise InvalidAccessToken("The token is not an access token.")
        claims = decoded.claims
        audiences = _as_tuple(claims.get("aud"))
        if self._audience is not None and self._audience not in audiences:
            raise InvalidAccessToken("The access token is meant for another resource.")
        kid = decoded.header.get("kid")
        return self._accept(_claims_of(claims, audiences)), kid if isinstance(kid, str) else None

    def _accept(self, claims: AccessTokenClaims) -> AccessTokenClaims:
        """A last check of verified claims, for verifiers with a rule of their own."""
        return claims


class UserinfoVerifier(AccessTokenVerifier):
    """The tokens /userinfo accepts: those for the proxy, and those of an OpenID Connect sign-in
    (scope `openid`) for any resource. OIDC Core 5.3 has the UserInfo endpoint accept the access
    token of an OpenID request, whatever else it is for; a token of neither kind (asked for a
    third-party resource, without `openid`) is not the bridge's to answer for."""

    def __init__(
        self,
        keys: SigningKeys | KeySet | RemoteJWKS,
        issuer: str,
        proxy: str,
        *,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(keys, issuer, None, clock=clock)
        self._proxy = proxy

    def _accept(self, claims: AccessTokenClaims) -> AccessTokenClaims:
        if self._proxy not in claims.audiences and "openid" not in claims.scopes:
            raise InvalidAccessToken(
                "The access token is meant for another resource: /userinfo takes tokens for "
                "the proxy or with the openid scope."
            )
        return claims


def _claims_of(claims: dict[str, Any], audiences: tuple[str, ...]) -> AccessTokenClaims:
    return AccessTokenClaims(
        subject=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        grant_id=str(claims.get("grant_id", "")),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        audiences=audiences,
        expires_at=int(claims["exp"]),
        raw=claims,
    )


def _as_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(item) for item in value)
    return ()
