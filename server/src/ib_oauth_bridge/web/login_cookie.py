"""The cookie that binds a login transaction to the browser that started it, and the CSRF
token derived from it.

The cookie holds the transaction id signed by itsdangerous (HttpOnly, SameSite=Lax); the store
holds only the id's hash. Over https it is a `__Host-` cookie (RFC 6265bis 4.1.3.2: Secure, no
Domain, Path=/), which no sibling subdomain and no http page can set or overwrite for the
bridge (cookie tossing); `__Host-` requires Path=/, so only then is the path / instead of
/authorize. The CSRF token is an HMAC of the id, so a page
of one transaction cannot post for another.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

COOKIE_NAME = "ib_bridge_login"
COOKIE_PATH = "/authorize"
SECURE_COOKIE_NAME = "__Host-" + COOKIE_NAME
SECURE_COOKIE_PATH = "/"


class LoginCookie:
    def __init__(self, secret: str, max_age: int, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="ib-bridge-login")
        self._csrf_key = hashlib.sha256(b"csrf:" + secret.encode()).digest()
        self._max_age = max_age
        self._secure = secure
        self.name = SECURE_COOKIE_NAME if secure else COOKIE_NAME
        self.path = SECURE_COOKIE_PATH if secure else COOKIE_PATH

    def set(self, response: Response, transaction_id: str) -> None:
        response.set_cookie(
            self.name,
            self._serializer.dumps(transaction_id),
            max_age=self._max_age,
            path=self.path,
            httponly=True,
            secure=self._secure,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.name, path=self.path, secure=self._secure, httponly=True, samesite="lax"
        )

    def read(self, connection: HTTPConnection) -> str | None:
        """The transaction id, or None when the cookie is missing, forged or too old."""
        value = connection.cookies.get(self.name)
        if not value or len(value) > 512:
            return None
        try:
            transaction_id = self._serializer.loads(value, max_age=self._max_age)
        except BadSignature:
            return None
        return transaction_id if isinstance(transaction_id, str) else None

    def csrf_token(self, transaction_id: str) -> str:
        return hmac.new(self._csrf_key, transaction_id.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, transaction_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(transaction_id), token or "")
