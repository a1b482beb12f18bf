"""The records the bridge keeps between requests, and nothing else.

Every secret the bridge hands out (authorization codes, refresh tokens, login transaction ids,
client secrets) is stored only as a hash; callers hash before they call (see `secret_hash`). The
IB session id is stored only as AEAD ciphertext made by `store.crypto.SidCipher`; the store
never sees the key. Every record carries an absolute expiry (`expires_at`, Unix seconds) and is
invisible to readers once it has passed, whether or not `purge_expired` has run yet.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


def secret_hash(secret: str) -> str:
    """The key under which a secret is stored: SHA-256, hex. The secret itself is never kept."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class LoginStatus(enum.StrEnum):
    """Where a login transaction stands. The login page shows a message for each."""

    NEW = "new"  # the page is open, no platform chosen yet
    PENDING = "pending"  # IB's login page is open in the popup; we are polling
    DONE = "done"  # IB reported the login; a code has been issued
    EXPIRED = "expired"  # IB's login token ran out before the user finished
    FAILED = "failed"  # IB refused or broke; `error` says how


@dataclass(slots=True)
class LoginTransaction:
    """One visit to /authorize, from the request until the code is issued.

    The browser holds the transaction id in a signed cookie; the store holds its hash.
    """

    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    code_challenge_method: str
    scope: str
    resource: str | None
    expires_at: float
    status: LoginStatus = LoginStatus.NEW
    platform_url: str | None = None
    # IB's one-time login token, sealed by `Bridge.seal`: whoever holds it can collect the sid
    # once the user signs in, so the store never sees it in the clear. It is sent only to the
    # platform host, and to the browser only inside IB's login URL.
    ib_login_token: str | None = None
    started_at: float = 0.0  # when IB's login token was issued
    last_polled_at: float = 0.0
    error: str | None = None
    # Set once the login is done: where the browser goes next, with the code in it, sealed
    # like the login token. A second poll gets the same redirect instead of a second code.
    redirect_to: str | None = None
    nonce: str | None = None  # OpenID Connect: echoed in the ID token
    # Who opened it, as a keyed hash of the client address (never the address): the store
    # counts the unfinished transactions of one address (`count_live_transactions`).
    address_hash: str | None = None
    submissions: int = 0  # platform URLs submitted: each starts an IB login
    ib_calls: int = 0  # calls to IB's login API made for this browser: submissions and polls


@dataclass(slots=True)
class Grant:
    """What a user's sign-in grants one client: an IB session, held server-side.

    Every token the bridge issues points at one grant; revoking the grant ends them all.
    """

    grant_id: str
    client_id: str
    scope: str
    resource: str | None
    sid_ciphertext: bytes
    platform_url: str  # https://company.intelligencebank.com, no trailing slash
    api_v3_url: str  # https://region.intelligencebank.com, no trailing slash
    ib_client_id: str  # IB's own "clientid" (the tenant), part of every v3 path
    user: dict[str, str]  # userinfo claims: sub, name, given_name, family_name, email, ...
    session_expires_at: float  # loginTime + logintimeoutperiod hours: nothing outlives it
    created_at: float
    last_used_at: float
    refresh_count: int = 0
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class GrantSummary:
    """What an operator sees of a live grant (the admin CLI's `grants list`, the admin page):
    who signed in, to which client, and how it has been used. Never the sid, nor anything a
    client could present."""

    grant_id: str
    client_id: str
    user_id: str | None  # IB's user id: the `sub` of the bridge's tokens
    user_email: str | None
    user_name: str | None
    scope: str
    platform_url: str
    created_at: float
    last_used_at: float
    refresh_count: int
    session_expires_at: float

    @classmethod
    def of(cls, grant: Grant) -> GrantSummary:
        def claim(name: str) -> str | None:
            value = grant.user.get(name)
            return str(value) if value else None

        return cls(
            grant_id=grant.grant_id,
            client_id=grant.client_id,
            user_id=claim("sub"),
            user_email=claim("email"),
            user_name=claim("name"),
            scope=grant.scope,
            platform_url=grant.platform_url,
            created_at=grant.created_at,
            last_used_at=grant.last_used_at,
            refresh_count=grant.refresh_count,
            session_expires_at=grant.session_expires_at,
        )

    def is_user(self, user: str) -> bool:
        """Whether `user` names this grant's user: its IB user id exactly, or its email
        without regard to case."""
        if user == self.user_id:
            return True
        return self.user_email is not None and self.user_email.casefold() == user.casefold()


@dataclass(slots=True)
class AuthorizationCode:
    grant_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    scope: str
    resource: str | None
    expires_at: float
    used: bool = False
    nonce: str | None = None  # OpenID Connect: echoed in the ID token


@dataclass(slots=True)
class RefreshToken:
    grant_id: str
    client_id: str
    scope: str
    expires_at: float
    used: bool = False
    # Once the token is rotated: the answer that rotated it (the successor access and refresh
    # tokens), sealed by the caller and bound to this token's hash, kept until
    # `successor_until` so that the same client retrying the same refresh gets the same
    # answer. Readers see `successor` only before `successor_until`; `successor_until` stays
    # readable after, so a late retry is told apart from one racing the rotation.
    successor: str | None = None
    successor_until: float | None = None


class SealedKind(enum.StrEnum):
    """The columns that hold values sealed with the encryption key (`store.crypto`), each
    bound (as associated data) to a context: re-sealing needs that context."""

    GRANT_SID = "grant_sid"  # grants.sid_ciphertext, bound to the grant id
    REFRESH_SUCCESSOR = "refresh_successor"  # refresh_tokens.successor, to the token's hash
    # transactions.ib_login_token and .redirect_to, bound to the transaction id, which only
    # the browser's cookie holds: these are re-sealed when the login writes them, never
    # offline, and live for the login's few minutes.
    LOGIN_TOKEN = "login_token"  # noqa: S105 - a column's name, not a secret
    LOGIN_REDIRECT = "login_redirect"


@dataclass(frozen=True, slots=True)
class SealedValue:
    """One sealed value as stored: `row_key` is the grant id or the row's key hash, `sealed`
    the ciphertext (bytes for the sid, base64url text for the others)."""

    kind: SealedKind
    row_key: str
    sealed: bytes | str


@dataclass(slots=True)
class Consumed(Generic[T]):
    """The result of atomically marking a single-use record as used.

    `record` is None when nothing live is stored under the hash. `first_use` is False when the
    record had been used before: a replay, which the caller answers by revoking the grant.
    """

    record: T | None
    first_use: bool = field(default=False)


@dataclass(slots=True)
class RegisteredClient:
    """A client registered through RFC 7591 dynamic client registration.

    Configured and well-known clients live in settings; only these live in the store. The
    secret of a confidential client is kept as `secret_hash(secret)`; a public client has none.
    Until a registration has completed a sign-in it expires at `expires_at`; the first completed
    sign-in clears the expiry (None: kept until deleted).
    """

    client_id: str
    client_secret_hash: str | None
    token_endpoint_auth_method: str  # "none", "client_secret_basic" or "client_secret_post"
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    scope: str
    client_name: str | None
    client_uri: str | None
    logo_uri: str | None
    client_id_issued_at: int
    expires_at: float | None
    # The rest of the registered metadata (RFC 7591 2) as sent, for the registration answer.
    metadata: dict[str, object] = field(default_factory=dict)
