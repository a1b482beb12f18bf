"""The admin page's two signed cookies: the pending OpenID sign-in and the operator's session.

The admin page is an OpenID relying party of the bridge itself (client `ib-bridge-admin`).
`/admin` without a session starts a sign-in: the PKCE verifier, `state` and `nonce` go into a
short-lived signed cookie (HttpOnly, SameSite=Lax: it must come back on the navigation to
/admin/callback). A signed-in operator holds a session cookie (HttpOnly, SameSite=Strict,
30 minutes, `__Host-` over https) naming their IB user id and a random session id; the CSRF
token of the revoke forms is an HMAC of that session id, so it is bound to this session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

ADMIN_CLIENT_ID = "ib-bridge-admin"
SESSION_MAX_AGE = 30 * 60
PENDING_MAX_AGE = 15 * 60


@dataclass(frozen=True)
class AdminSession:
    user_id: str  # the IB user id (the id_token's `sub`)
    email: str | None
    session_id: str  # random; the CSRF token is derived from it


@dataclass(frozen=True)
class PendingSignIn:
    state: str
    nonce: str
    verifier: str


class AdminCookies:
    def __init__(self, secret: str, *, secure: bool) -> None:
        self._session = URLSafeSerializer(secret, salt="ib-bridge-admin-session")
        self._pending = URLSafeSerializer(secret, salt="ib-bridge-admin-pending")
        self._csrf_key = hashlib.sha256(b"admin-csrf:" + secret.encode()).digest()
        self._secure = secure
        prefix = "__Host-" if secure else ""
        self.session_name = prefix + "ib_bridge_admin"
        self.pending_name = prefix + "ib_bridge_admin_signin"
        self.path = "/" if secure else "/admin"

    # The operator's session ---------------------------------------------------------------

    def set_session(self, response: Response, session: AdminSession, now: float) -> None:
        value = {"u": session.user_id, "e": session.email, "s": session.session_id, "t": now}
        self._set(
            response, self.session_name, self._session.dumps(value), SESSION_MAX_AGE, "strict"
        )

    def read_session(self, connection: HTTPConnection, now: float) -> AdminSession | None:
        """The session, or None when the cookie is missing, forged or older than 30 minutes."""
        data = self._load(
            self._session, connection.cookies.get(self.session_name), now, SESSION_MAX_AGE
        )
        if not isinstance(data, dict):
            return None
        user, email, session_id = data.get("u"), data.get("e"), data.get("s")
        if not isinstance(user, str) or not isinstance(session_id, str):
            return None
        return AdminSession(user, email if isinstance(email, str) else None, session_id)

    def csrf_token(self, session: AdminSession) -> str:
        return hmac.new(self._csrf_key, session.session_id.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: AdminSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")

    # The sign-in in progress --------------------------------------------------------------

    def set_pending(self, response: Response, pending: PendingSignIn, now: float) -> None:
        value = {"st": pending.state, "n": pending.nonce, "v": pending.verifier, "t": now}
        self._set(response, self.pending_name, self._pending.dumps(value), PENDING_MAX_AGE, "lax")

    def read_pending(self, connection: HTTPConnection, now: float) -> PendingSignIn | None:
        data = self._load(
            self._pending, connection.cookies.get(self.pending_name), now, PENDING_MAX_AGE
        )
        if not isinstance(data, dict):
            return None
        state, nonce, verifier = data.get("st"), data.get("n"), data.get("v")
        if not all(isinstance(v, str) for v in (state, nonce, verifier)):
            return None
        return PendingSignIn(str(state), str(nonce), str(verifier))

    def clear(self, response: Response) -> None:
        for name, samesite in ((self.session_name, "strict"), (self.pending_name, "lax")):
            response.delete_cookie(
                name,
                path=self.path,
                secure=self._secure,
                httponly=True,
                samesite=samesite,  # type: ignore[arg-type]
            )

    def clear_pending(self, response: Response) -> None:
        response.delete_cookie(
            self.pending_name, path=self.path, secure=self._secure, httponly=True, samesite="lax"
        )

    # ---------------------------------------------------------------------------------------

    def _set(self, response: Response, name: str, value: str, max_age: int, samesite: Any) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.path,
            httponly=True,
            secure=self._secure,
            samesite=samesite,
        )

    @staticmethod
    def _load(serializer: URLSafeSerializer, value: str | None, now: float, max_age: int) -> object:
        """The signed value if it was signed within `max_age` seconds of `now` (the bridge's
        clock, written into the value when it was signed)."""
        if not value or len(value) > 2048:
            return None
        try:
            data = serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("t"), (int, float)):
            return None
        age = now - float(data["t"])
        return data if -5 <= age <= max_age else None
