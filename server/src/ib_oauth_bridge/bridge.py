"""The bridge's services, built once from settings and shared by every handler.

Handlers reach them as `bridge_of(request)`; nothing else is global.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
from starlette.requests import HTTPConnection

from .ib.browser_login import BrowserLoginClient
from .ib.platform import HostPolicy
from .oauth.clients import ClientRegistry
from .oauth.keys import SigningKeys
from .oauth.login_cookie import LoginCookie
from .oauth.server import AuthorizationServer
from .oauth.tokens import AccessTokenVerifier
from .settings import Settings, SettingsError
from .store.base import Store
from .store.crypto import SidCipher
from .store.sqlite import SQLiteStore


@dataclass
class Bridge:
    settings: Settings
    store: Store
    keys: SigningKeys
    cipher: SidCipher
    oauth: AuthorizationServer
    verifier: AccessTokenVerifier
    host_policy: HostPolicy
    login_cookie: LoginCookie
    http: httpx.AsyncClient  # IB's browser-login API
    upstream: httpx.AsyncHTTPTransport  # the proxy's connection pool to IB
    upstream_timeout: dict[str, float | None]
    ib_login: BrowserLoginClient

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None) -> Bridge:
        settings.check()
        if not settings.signing_key or not settings.encryption_key or not settings.cookie_secret:
            raise SettingsError("signing key, encryption key and cookie secret are required")
        store = store or SQLiteStore(settings.database_path)
        keys = SigningKeys.from_settings(settings.signing_key, settings.previous_signing_keys)
        timeout = httpx.Timeout(
            settings.upstream_timeout, connect=settings.upstream_connect_timeout
        )
        # The proxy talks to IB through httpx's transport itself: a proxy wants none of the
        # client's cookie jar, redirects or auth flows, and skipping them halves its cost.
        upstream = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            # Never from the environment: a proxy variable must not route sids elsewhere.
            trust_env=False,
        )
        http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            # One client serves every user: it must never keep IB's cookies between requests.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            trust_env=False,
        )
        oauth = AuthorizationServer(settings, store, ClientRegistry(settings.clients), keys)
        return cls(
            settings=settings,
            store=store,
            keys=keys,
            cipher=SidCipher(decode_key(settings.encryption_key)),
            oauth=oauth,
            verifier=oauth.verifier,
            host_policy=HostPolicy(settings.platform_hosts, settings.dev_ib_urls),
            login_cookie=LoginCookie(
                settings.cookie_secret, settings.login_ttl, secure=settings.secure_cookies
            ),
            http=http,
            upstream=upstream,
            upstream_timeout=timeout.as_dict(),
            ib_login=BrowserLoginClient(http),
        )

    def seal(self, secret: str, *, context: str) -> str:
        """Encrypt a short secret for the store (the sid's AEAD), bound to `context`."""
        sealed = self.cipher.encrypt(secret, grant_id=context)
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def unseal(self, sealed: str, *, context: str) -> str:
        return self.cipher.decrypt(base64.urlsafe_b64decode(sealed), grant_id=context)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.upstream.aclose()
        self.store.close()


def decode_key(value: str) -> bytes:
    """A 32-byte key given as base64url text, or the path of a file holding that text."""
    text = value
    if not value.rstrip("=").replace("-", "").replace("_", "").isalnum():
        try:
            text = Path(value).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"cannot read the encryption key file: {exc.strerror}") from None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise SettingsError("IB_BRIDGE_ENCRYPTION_KEY is not base64url") from None
    if len(key) != 32:
        raise SettingsError("IB_BRIDGE_ENCRYPTION_KEY must decode to exactly 32 bytes")
    return key


def bridge_of(connection: HTTPConnection) -> Bridge:
    bridge: Bridge = connection.app.state.bridge
    return bridge
