"""The last platform this browser signed in at, remembered for its next sign-in.

A cookie holding only the platform's origin (never a token, a transaction id or a name), set by
the bridge when IB's login has started there, read by /authorize to prefill the address. It is
no secret, but it is the user's: it is never logged. Path=/authorize (only the sign-in pages
see it), SameSite=Lax, Secure when the bridge is served over https. What it holds is checked
again by the platform policy before it is shown, so a planted value can prefill nothing the
bridge would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.responses import Response

COOKIE_NAME = "ib_bridge_platform"
COOKIE_PATH = "/authorize"
MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)
MAX_LENGTH = 256


def remember(response: Response, origin: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE_NAME,
        origin,
        max_age=MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def remembered(connection: HTTPConnection, normalize: Callable[[str], str]) -> str:
    """The remembered origin, or "" when there is none or `normalize` (the platform policy's:
    the origin, or ValueError) no longer gives exactly it."""
    value = connection.cookies.get(COOKIE_NAME, "")
    if not value or len(value) > MAX_LENGTH:
        return ""
    try:
        origin = normalize(value)
    except ValueError:
        return ""
    return origin if origin == value else ""
