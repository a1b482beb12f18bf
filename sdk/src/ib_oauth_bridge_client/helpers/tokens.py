"""The tokens of one sign-in: a short-lived access token and a rotating refresh token."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import BridgeError
from .jwt import expiry

DEFAULT_EXPIRES_IN = 300.0


@dataclass(frozen=True)
class Tokens:
    """An access token, the refresh token that renews it, and when the access token expires.

    `expires_at` is a Unix time (seconds, `time.time()` clock). The repr never shows the tokens.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    scope: str = ""
    token_type: str = "Bearer"

    @classmethod
    def from_response(
        cls,
        data: Mapping[str, Any],
        now: float | None = None,
        *,
        previous: Tokens | None = None,
    ) -> Tokens:
        """Build from a token endpoint answer (RFC 6749 5.1).

        Args:
            data: the JSON object of the answer.
            now: the time the request was sent (defaults to `time.time()`); `expires_in` counts
                from it.
            previous: the tokens being refreshed; their refresh token and scope are kept when the
                answer omits them (RFC 6749 6 lets a server skip rotation and scope echo).

        Raises:
            BridgeError: the answer lacks an access token or a valid `expires_in`, or is not a
                Bearer token.
        """
        issued = time.time() if now is None else now
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise BridgeError("token answer: 'access_token' is missing or not a string")
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise BridgeError(f"token answer: unsupported token_type {token_type!r}")
        expires_in = data.get("expires_in")
        if expires_in is None:
            # RFC 6749 only recommends expires_in: fall back to the JWT's exp, else assume the
            # token is short-lived so it is refreshed early rather than used expired.
            exp = expiry(access)
            expires_in = exp - issued if exp is not None else DEFAULT_EXPIRES_IN
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise BridgeError("token answer: 'expires_in' is not a number")
        refresh = data.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            raise BridgeError("token answer: 'refresh_token' is not a string")
        scope = data.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise BridgeError("token answer: 'scope' is not a string")
        return cls(
            access_token=access,
            refresh_token=refresh or (previous.refresh_token if previous else None),
            expires_at=issued + float(expires_in),
            scope=scope if scope is not None else (previous.scope if previous else ""),
            token_type="Bearer",
        )

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        """True when the access token expires within `seconds` from `now` (or has expired)."""
        return self.expires_at - seconds <= (time.time() if now is None else now)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what `FileTokenStore` writes)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tokens:
        """The inverse of `to_json`; `BridgeError` when a field is missing or mistyped."""
        access, refresh = data.get("access_token"), data.get("refresh_token")
        expires_at, scope = data.get("expires_at"), data.get("scope", "")
        token_type = data.get("token_type", "Bearer")
        if (
            not isinstance(access, str)
            or not (refresh is None or isinstance(refresh, str))
            or isinstance(expires_at, bool)
            or not isinstance(expires_at, int | float)
            or not isinstance(scope, str)
            or not isinstance(token_type, str)
        ):
            raise BridgeError("stored tokens are malformed")
        return cls(access, refresh, float(expires_at), scope, token_type)
