"""The bridge's services, built once from settings and shared by every handler.

Only `app` and `cli` build a `Bridge`; handlers reach it as `bridge_of(request)`. Nothing else
is global. Tests build one with a fake clock, their own store, and IB reached in-process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.requests import HTTPConnection

from .audit import Audit
from .auth import BearerAuthError
from .clock import Clock, system_clock
from .ib.browser_login import BrowserLoginClient
from .ib.platform import HostPolicy
from .ib.session import IBSession, SessionCache
from .ib.upstream import Upstream
from .metrics import Metrics, instrument_store
from .oauth.cimd import MetadataDocuments
from .oauth.clients import ClientLookup
from .oauth.keys import SigningKeyError, SigningKeys
from .oauth.login_flow import LoginFlow
from .oauth.registration import ClientRegistrationEndpoint
from .oauth.server import AuthorizationServer
from .oauth.tokens import AccessTokenClaims, AccessTokenVerifier
from .outbound import AddressGuard, SafeFetcher, pinned_transport
from .ratelimit import BridgeLimits
from .settings import ClientConfig, Settings, SettingsError
from .store import Store, open_store
from .store.crypto import (
    EncryptionKeyError,
    EncryptionKeySource,
    SidCipher,
    SidDecryptionError,
)
from .store.records import Grant, SealedKind, SealedValue
from .tracing import Tracing
from .web.admin_session import ADMIN_CLIENT_ID, AdminCookies
from .web.login_cookie import LoginCookie

log = logging.getLogger("ib_oauth_bridge.keys")


@dataclass
class Bridge:
    settings: Settings
    clock: Clock
    store: Store
    keys: SigningKeys
    cipher: SidCipher
    clients: ClientLookup
    oauth: AuthorizationServer
    login: LoginFlow
    verifier: AccessTokenVerifier
    host_policy: HostPolicy
    login_cookie: LoginCookie
    http: httpx.AsyncClient  # IB's browser-login API
    upstream: Upstream  # the proxy's connection pool to IB
    sessions: SessionCache  # live sessions for the proxy's hot path
    limits: BridgeLimits  # rate limits per address, client, login and grant
    audit: Audit  # the audit log and its fraud rules
    admin_cookies: AdminCookies  # the admin page's sign-in and session (IB_BRIDGE_ADMINS)
    metrics: Metrics  # Prometheus metrics (counted whether or not they are served)
    tracing: Tracing | None = None  # OpenTelemetry, when installed and configured

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Clock = system_clock,
        ib_transport: httpx.AsyncBaseTransport | None = None,
    ) -> Bridge:
        """`ib_transport` replaces the network to IB's browser-login API (tests: the emulator
        in-process); the proxy always talks to IB over real connections."""
        settings.check()
        if not settings.signing_key or not settings.encryption_key or not settings.cookie_secret:
            raise SettingsError("signing key, encryption key and cookie secret are required")
        store = store or open_store(settings.effective_store_url, clock=clock)
        limits = BridgeLimits.from_settings(settings, secret=settings.cookie_secret)
        audit = Audit.from_settings(settings, clock, address_key=limits.rates.address_hash)
        metrics = Metrics()
        instrument_store(store, metrics.store_calls)
        audit.listeners.append(metrics.observe_audit)
        keys, cipher = open_keys(settings, clock)
        timeout = httpx.Timeout(
            settings.upstream_timeout, connect=settings.upstream_connect_timeout
        )
        # IB's hosts come from user input and from IB's answer: every connection to them goes to
        # an address checked once (only the emulator's configured origins may be internal).
        guard = AddressGuard(trusted=settings.dev_ib_urls if settings.dev_mode else ())
        upstream = Upstream(
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_timeout,
            max_connections=settings.upstream_max_connections,
            max_per_grant=settings.proxy_max_concurrent_per_grant,
            guard=guard,
        )
        http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            # One client serves every user: it must never keep IB's cookies between requests.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            trust_env=False,
            transport=ib_transport or pinned_transport(guard),
        )
        # Client ID Metadata Documents: fetched from the client's own URL, never from ours.
        documents = MetadataDocuments(
            SafeFetcher(dev_mode=settings.dev_mode, extra_ca_file=settings.dev_ca_file), clock
        )
        clients = ClientLookup(
            settings.clients + admin_clients(settings),
            store,
            documents,
            public_client_redirect_uris=settings.public_client_redirect_uris,
        )
        oauth = AuthorizationServer(
            settings,
            grants=store,
            codes=store,
            refresh_tokens=store,
            replay=store,
            clients=clients,
            keys=keys,
            cipher=cipher,
            clock=clock,
            audit=audit,
        )
        oauth.register_endpoint(
            ClientRegistrationEndpoint(
                store=store,
                clients=clients,
                initial_access_token=settings.registration_access_token,
                unused_ttl=settings.registration_unused_ttl,
                clock=clock,
            )
        )
        host_policy = HostPolicy(
            settings.platform_hosts, settings.dev_ib_urls if settings.dev_mode else (), guard
        )
        sessions = SessionCache(store, clock)
        oauth.grant_listeners.append(sessions.evict)
        login = LoginFlow(
            settings,
            transactions=store,
            grants=store,
            clients=clients,
            oauth=oauth,
            ib_login=BrowserLoginClient(http),
            host_policy=host_policy,
            cipher=cipher,
            clock=clock,
            audit=audit,
        )
        return cls(
            settings=settings,
            clock=clock,
            store=store,
            keys=keys,
            cipher=cipher,
            clients=clients,
            oauth=oauth,
            login=login,
            verifier=oauth.verifier,
            host_policy=host_policy,
            login_cookie=LoginCookie(
                settings.cookie_secret, settings.login_ttl, secure=settings.secure_cookies
            ),
            http=http,
            upstream=upstream,
            sessions=sessions,
            limits=limits,
            audit=audit,
            admin_cookies=AdminCookies(settings.cookie_secret, secure=settings.secure_cookies),
            metrics=metrics,
            tracing=Tracing.from_env(),
        )

    @property
    def resource_metadata_url(self) -> str:
        return f"{self.settings.issuer}/.well-known/oauth-protected-resource"

    async def load_session(self, claims: AccessTokenClaims) -> IBSession:
        """The live IB session behind verified access-token claims, or BearerAuthError: a
        revoked, idle or expired grant stops working at once (in other workers, within the
        session cache's check interval)."""
        cached = await self.sessions.get(claims.grant_id) if claims.grant_id else None
        if cached is not None and claims.issued_under(cached.grant):
            return cached
        grant = await self.oauth.live_grant(claims.grant_id) if claims.grant_id else None
        if grant is None or not claims.issued_under(grant):
            raise BearerAuthError(
                "The sign-in behind this token has ended (signed out, revoked or expired). "
                "Sign in again."
            )
        if grant.session_expires_at <= self.clock():
            raise BearerAuthError("The IntelligenceBank session has ended. Sign in again.")
        try:
            sid = self.cipher.decrypt(grant.sid_ciphertext, grant_id=grant.grant_id)
            if not self.cipher.sealed_with_current_key(grant.sid_ciphertext):
                await self._reseal_sid(grant, sid)
        except SidDecryptionError:
            # Sealed with a key this bridge no longer holds: the grant cannot be used again.
            await self.oauth.end_grant(grant.grant_id, "the sid cannot be decrypted")
            raise BearerAuthError(
                "The sign-in behind this token has ended. Sign in again."
            ) from None
        session = IBSession(grant, sid)
        idle_until = grant.last_used_at + self.settings.refresh_idle_timeout
        self.sessions.put(session, min(grant.session_expires_at, idle_until))
        return session

    async def _reseal_sid(self, grant: Grant, sid: str) -> None:
        """Seal a sid opened with a previous key again with the current one, once: the write
        is a compare-and-set, so of several workers doing this at once one wins and the
        others' ciphertexts (as good) are dropped."""
        resealed = self.cipher.encrypt(sid, grant_id=grant.grant_id)
        old = SealedValue(SealedKind.GRANT_SID, grant.grant_id, grant.sid_ciphertext)
        if await self.store.replace_sealed(old, resealed):
            grant.sid_ciphertext = resealed
            log.info("sid re-sealed with the current key", extra={"grant_id": grant.grant_id})

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.upstream.aclose()
        await self.store.close()


def open_keys(settings: Settings, clock: Clock) -> tuple[SigningKeys, SidCipher]:
    """The signing key ring and the sid cipher from the settings; both follow changes to
    their key files (a rotation) without a restart."""
    if not settings.signing_key or not settings.encryption_key:
        raise SettingsError("signing key and encryption key are required")
    try:
        keys = SigningKeys.from_settings(
            settings.signing_key, settings.previous_signing_keys, clock=clock
        )
        source = EncryptionKeySource(settings.encryption_key, settings.previous_encryption_keys)
        return keys, source.cipher(clock)
    except (SigningKeyError, EncryptionKeyError) as exc:
        raise SettingsError(str(exc)) from None


def admin_clients(settings: Settings) -> tuple[ClientConfig, ...]:
    """The admin page's own OpenID client, only when the page is on: public (PKCE), with the
    one redirect URI /admin/callback; configured, so no registration can take its id."""
    if not settings.admins:
        return ()
    return (
        ClientConfig(
            client_id=ADMIN_CLIENT_ID,
            redirect_uris=(f"{settings.issuer}/admin/callback",),
            name="IB OAuth Bridge admin page",
        ),
    )


def bridge_of(connection: HTTPConnection) -> Bridge:
    bridge: Bridge = connection.app.state.bridge
    return bridge
