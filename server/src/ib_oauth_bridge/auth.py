"""Bearer-token authentication for Starlette apps, on Starlette's own conventions.

`BearerTokenBackend` is an `AuthenticationBackend`: mounted with Starlette's
`AuthenticationMiddleware`, it turns `Authorization: Bearer <RFC 9068 JWT>` into
`request.user` (a `TokenUser`) and `request.auth` (the token's scopes). Inside the bridge a
`session_loader` also attaches the live IB session, so a revoked grant stops working at once.
Third-party ASGI apps (an MCP server, say) mount the same middleware with a verifier built from
the bridge's published JWKS and their own audience; `on_auth_error` answers RFC 6750 errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from .ib.session import IBSession
from .introspection_client import IntrospectionUnavailable, TokenIntrospector
from .oauth.tokens import AccessTokenClaims, AccessTokenVerifier, InvalidAccessToken


class BearerAuthError(AuthenticationError):
    """An RFC 6750 error: `error` is None when the request carried no token at all."""

    def __init__(
        self, description: str, error: str | None = "invalid_token", status_code: int = 401
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error = error
        self.status_code = status_code


@dataclass(frozen=True)
class TokenUser(BaseUser):
    claims: AccessTokenClaims
    # The live IB session behind the token inside the bridge; None in a third-party app.
    session: IBSession | None = field(default=None, repr=False)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.claims.subject

    @property
    def identity(self) -> str:
        return self.claims.subject


SessionLoader = Callable[[AccessTokenClaims], Awaitable[IBSession]]
"""Finds the live IB session of verified claims, or raises BearerAuthError."""


class BearerTokenBackend(AuthenticationBackend):
    """`introspector` (for resource servers elsewhere) also asks the bridge whether each verified
    token is still live, so a revoked sign-in is refused at once rather than at its expiry."""

    def __init__(
        self,
        verifier: AccessTokenVerifier,
        session_loader: SessionLoader | None = None,
        *,
        introspector: TokenIntrospector | None = None,
    ) -> None:
        self.verifier = verifier
        self.session_loader = session_loader
        self.introspector = introspector

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, TokenUser]:
        header = conn.headers.get("authorization")
        if not header:
            raise BearerAuthError("An access token is required.", error=None)
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            # Another scheme (Basic, Digest, a bare token) carries no bearer token: RFC 6750 3.1
            # answers that like a missing header, 401 with no error code.
            raise BearerAuthError(
                "An access token is required: send 'Authorization: Bearer <token>'.", error=None
            )
        if not token.strip():
            raise BearerAuthError(
                "Send the access token as 'Authorization: Bearer <token>'.",
                error="invalid_request",
                status_code=400,
            )
        try:
            if self.verifier.may_block:
                claims = await run_in_threadpool(self.verifier.verify, token.strip())
            else:
                claims = self.verifier.verify(token.strip())
        except InvalidAccessToken as exc:
            raise BearerAuthError(str(exc)) from None
        if self.introspector is not None:
            try:
                active = await self.introspector.is_active(token.strip())
            except IntrospectionUnavailable:
                raise BearerAuthError(
                    "The token could not be checked with the bridge; try again shortly.",
                    error="temporarily_unavailable",
                    status_code=503,
                ) from None
            if not active:
                raise BearerAuthError(
                    "The sign-in behind this token has ended (signed out, revoked or expired). "
                    "Sign in again."
                )
        session = await self.session_loader(claims) if self.session_loader else None
        return AuthCredentials(sorted(claims.scopes)), TokenUser(claims, session)


def www_authenticate(
    resource_metadata: str,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
) -> str:
    parts = []
    if error:
        parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quote(description)}"')
    if scope:
        parts.append(f'scope="{scope}"')
    parts.append(f'resource_metadata="{resource_metadata}"')
    return "Bearer " + ", ".join(parts)


def _quote(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


def bearer_error_response(
    resource_metadata: str,
    status_code: int,
    error: str | None,
    description: str,
    scope: str | None = None,
) -> JSONResponse:
    body = {"error": error or "invalid_token", "error_description": description}
    return JSONResponse(
        body,
        status_code=status_code,
        headers={
            "WWW-Authenticate": www_authenticate(resource_metadata, error, description, scope),
            "Cache-Control": "no-store",
        },
    )


def on_auth_error(
    resource_metadata: str, scope: str | None = None
) -> Callable[[HTTPConnection, Exception], JSONResponse]:
    """The `on_error` for AuthenticationMiddleware: RFC 6750 answers naming our metadata, and
    `scope`, the scope a new token needs, when given (the MCP authorization spec asks for it)."""

    def handler(conn: HTTPConnection, exc: Exception) -> JSONResponse:
        if isinstance(exc, BearerAuthError):
            return bearer_error_response(
                resource_metadata, exc.status_code, exc.error, exc.description, scope
            )
        return bearer_error_response(resource_metadata, 401, "invalid_token", str(exc), scope)

    return handler
