"""OAuth clients: the well-known public client, the clients configured in settings, clients
described by a metadata document at their client_id URL (`cimd`), and the clients registered in
the store; `ClientLookup` finds any of them by id.

`Client` implements Authlib's `ClientMixin`, so Authlib's grants ask it the questions RFC 6749
leaves to the server: which redirect URIs, which auth method, which scopes.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

from ..settings import PREFIX, ClientConfig, SettingsError
from ..store.protocols import ClientStore
from ..store.records import RegisteredClient, secret_hash
from .redirect_uris import (
    RedirectURIError,
    any_redirect_uri_matches,
    check_redirect_uri,
    is_loopback_redirect_uri,
)

if TYPE_CHECKING:
    from .cimd import MetadataDocuments

MCP_PUBLIC_CLIENT_ID = "mcp-public-client"
# The exact callbacks of the MCP hosts the well-known public client serves, and the name of
# each host for the login page. Matched exactly: no prefix, no case folding, no trailing slash.
KNOWN_HOST_CALLBACKS: dict[str, str] = {
    "https://claude.ai/api/mcp/auth_callback": "Claude",
    "https://claude.com/api/mcp/auth_callback": "Claude",
    "https://chatgpt.com/connector_platform_oauth_redirect": "ChatGPT",
    "https://vscode.dev/redirect": "VS Code",
    "https://insiders.vscode.dev/redirect": "VS Code",
    "cursor://anysphere.cursor-mcp/oauth/callback": "Cursor",
    "https://www.cursor.com/agents/mcp/oauth/callback": "Cursor",
}
# The proxy's scopes (what an access token may do at IB) ...
PROXY_SCOPES = ("ib.read", "ib.write")
# ... and every scope the authorization server knows: OpenID Connect's identity scopes, and
# offline_access, which is accepted and changes nothing (every grant gets a refresh token).
SUPPORTED_SCOPES = (*PROXY_SCOPES, "offline_access", "openid", "profile", "email")
DEFAULT_SCOPES = PROXY_SCOPES  # when a request names no scope
GRANT_TYPES = ("authorization_code", "refresh_token")


def known_host_name(redirect_uri: str) -> str | None:
    """The name of the MCP host a callback belongs to ("Claude", "ChatGPT", "VS Code",
    "Cursor"), for pages that tell the user where they return; None for any other URI."""
    return KNOWN_HOST_CALLBACKS.get(redirect_uri)


def is_loopback_url(uri: str) -> bool:
    """A loopback URL of either scheme (dev mode accepts these as RFC 8707 resources)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if parts.scheme not in {"http", "https"} or parts.fragment:
            return False
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClientKind(enum.StrEnum):
    """Where a client's description comes from, which decides how far its name is trusted."""

    WELL_KNOWN = "well-known"  # built in: mcp-public-client
    CONFIGURED = "configured"  # IB_BRIDGE_CLIENTS, set by the operator
    REGISTERED = "registered"  # RFC 7591, described by the client itself
    # A Client ID Metadata Document: described by the client itself, at its client_id URL.
    METADATA_DOCUMENT = "metadata-document"


@dataclass(frozen=True, slots=True)
class Client(ClientMixin):
    client_id: str
    # SHA-256 of the secret (secret_hash), for configured and registered clients alike; None
    # for a public client.
    client_secret_hash: str | None
    token_endpoint_auth_method: str
    redirect_uris: tuple[str, ...]
    allow_loopback: bool = False
    name: str | None = None
    kind: ClientKind = ClientKind.CONFIGURED
    may_introspect: bool = False  # a resource server allowed to ask about any token
    # A resource server allowed to exchange (RFC 8693) access tokens issued for `resource`
    # (its own URL) for proxy tokens that name it as the actor.
    may_exchange_tokens: bool = False
    resource: str | None = None
    # What a registration limited the client to (RFC 7591 2); None: no limit of its own.
    grant_types: tuple[str, ...] = GRANT_TYPES
    scopes: tuple[str, ...] | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # OAuth 2.1: the redirect_uri is always sent, never guessed.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = [s for s in SUPPORTED_SCOPES if self.scopes is None or s in self.scopes]
        if not scope:
            # With no scope asked: the defaults, within what the client registered.
            return " ".join(s for s in DEFAULT_SCOPES if s in allowed)
        return " ".join(s for s in allowed if s in scope.split())

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if any_redirect_uri_matches(self.redirect_uris, redirect_uri):
            return True  # exactly, or a registered loopback URI on another port (RFC 8252 7.3)
        return self.allow_loopback and is_loopback_redirect_uri(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret_hash is None:
            return False
        return hmac.compare_digest(self.client_secret_hash, secret_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES and grant_type in self.grant_types


MCP_PUBLIC_CLIENT = Client(
    client_id=MCP_PUBLIC_CLIENT_ID,
    client_secret_hash=None,
    token_endpoint_auth_method="none",  # noqa: S106 - the auth method's name, not a secret
    redirect_uris=tuple(KNOWN_HOST_CALLBACKS),
    allow_loopback=True,
    name="MCP client",
    kind=ClientKind.WELL_KNOWN,
)


def configured_client(config: ClientConfig) -> Client:
    """A client from IB_BRIDGE_CLIENTS, held to the rules every other client's redirect URIs
    meet (`redirect_uris.check_redirect_uri`): the bridge refuses to start with a
    `javascript:`, `data:`, relative or fragment URI rather than redirect a code there."""
    for uri in config.redirect_uris:
        try:
            check_redirect_uri(uri)
        except RedirectURIError as error:
            raise SettingsError(
                f"{PREFIX}CLIENTS: client {config.client_id!r} has the redirect URI {uri!r}, "
                f"which is refused: {error}"
            ) from None
    return Client(
        client_id=config.client_id,
        client_secret_hash=secret_hash(config.client_secret) if config.client_secret else None,
        token_endpoint_auth_method=config.token_endpoint_auth_method,
        redirect_uris=config.redirect_uris,
        name=config.name,
        may_introspect=config.introspect,
        may_exchange_tokens=config.token_exchange,
        resource=config.resource,
    )


def registered_client(record: RegisteredClient) -> Client:
    return Client(
        client_id=record.client_id,
        client_secret_hash=record.client_secret_hash,
        token_endpoint_auth_method=record.token_endpoint_auth_method,
        redirect_uris=record.redirect_uris,
        name=record.client_name,
        kind=ClientKind.REGISTERED,
        grant_types=record.grant_types,
        scopes=tuple(record.scope.split()) if record.scope else None,
    )


class ClientLookup:
    """Finds a client by id: the well-known public client, then configured ones (settings),
    then metadata documents (an http(s) URL as the id: fetched, or MetadataDocumentError),
    then registered ones (the store). Ids of the first two cannot be registered over."""

    def __init__(
        self,
        configured: tuple[ClientConfig, ...],
        registered: ClientStore,
        documents: MetadataDocuments | None = None,
        *,
        public_client_redirect_uris: tuple[str, ...] = (),
    ) -> None:
        """`public_client_redirect_uris`: exact callbacks the operator adds to the well-known
        public client's (IB_BRIDGE_PUBLIC_CLIENT_REDIRECT_URIS, checked by Settings)."""
        public = MCP_PUBLIC_CLIENT
        if public_client_redirect_uris:
            extra = tuple(u for u in public_client_redirect_uris if u not in public.redirect_uris)
            public = dataclasses.replace(public, redirect_uris=public.redirect_uris + extra)
        self._fixed = {MCP_PUBLIC_CLIENT_ID: public}
        for config in configured:
            self._fixed[config.client_id] = configured_client(config)
        self._registered = registered
        self.documents = documents

    def is_reserved(self, client_id: str) -> bool:
        return client_id in self._fixed

    async def get(self, client_id: str | None) -> Client | None:
        if not client_id:
            return None
        client = self._fixed.get(client_id)
        if client is not None:
            return client
        if self.documents is not None and self.documents.handles(client_id):
            return await self.documents.get(client_id)
        record = await self._registered.get_client(client_id)
        return registered_client(record) if record else None

    async def mark_used(self, client_id: str) -> None:
        """A sign-in for the client completed: a registration no longer expires unused."""
        if client_id not in self._fixed:
            await self._registered.mark_client_used(client_id)
