"""Every error the helpers raise. All derive from `BridgeError`, so one `except` catches them.

Nothing else escapes the helpers: transport failures become `NetworkError`, malformed answers a
plain `BridgeError` naming what was wrong, and error answers `OAuthError` with the server's
`error` / `error_description` (IB's own errors carry `message`, which is used as the description).
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base class of every error raised by the helpers."""


class OAuthError(BridgeError):
    """An error answer from the bridge (RFC 6749 5.2 / RFC 6750 3.1) or from IB via the proxy.

    Attributes:
        error: the error code, e.g. ``invalid_grant``, ``access_denied``, ``not_found``; for an
            answer without a JSON error body, ``http_<status>``.
        error_description: the human-readable description, when the server sent one.
        status_code: the HTTP status, or None for errors delivered by redirect (the
            authorization response of `login()`).
    """

    def __init__(
        self, error: str, error_description: str | None = None, status_code: int | None = None
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.status_code = status_code
        text = error if not error_description else f"{error}: {error_description}"
        if status_code is not None:
            text = f"{text} (HTTP {status_code})"
        super().__init__(text)


class NetworkError(BridgeError):
    """The server could not be reached or did not answer in time (wraps an httpx error)."""


class LoginTimeout(BridgeError):
    """`login()` waited `timeout` seconds and the browser never came back to the loopback URL."""


class StateMismatch(BridgeError):
    """The authorization response's `state` is not the one sent: possibly a forged response."""


class IssuerMismatch(BridgeError):
    """An issuer is not the expected one: the metadata's `issuer` differs from the base URL
    (RFC 8414 3.3), or the authorization response's `iss` differs from it (RFC 9207)."""


class SignInRequired(OAuthError):
    """The grant has ended (refresh answered ``invalid_grant``, or no refresh token is held):
    the sign-in has ended; run ``login()`` again."""

    def __init__(
        self, error_description: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(
            "invalid_grant",
            error_description or "the sign-in has ended; run login() again",
            status_code,
        )
