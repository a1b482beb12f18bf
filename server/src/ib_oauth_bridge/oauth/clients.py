"""OAuth clients: the well-known public client and the clients pre-registered in settings.

`Client` implements Authlib's `ClientMixin`, so Authlib's grants ask it the questions RFC 6749
leaves to the server: which redirect URIs, which auth method, which scopes.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

from ..settings import ClientConfig

MCP_PUBLIC_CLIENT_ID = "mcp-public-client"
CLAUDE_CALLBACKS = (
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
)
SUPPORTED_SCOPES = ("ib.read", "ib.write")
GRANT_TYPES = ("authorization_code", "refresh_token")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback_redirect_uri(uri: str) -> bool:
    """RFC 8252 section 7.3: http on a loopback host, any port, any path; nothing else."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and not parts.username
        and not parts.password
        and not parts.fragment
    )


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


@dataclass(frozen=True, slots=True)
class Client(ClientMixin):
    client_id: str
    client_secret: str | None
    token_endpoint_auth_method: str
    redirect_uris: tuple[str, ...]
    allow_loopback: bool = False
    name: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # OAuth 2.1: the redirect_uri is always sent, never guessed.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(SUPPORTED_SCOPES)
        return " ".join(s for s in SUPPORTED_SCOPES if s in scope.split())

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        return self.allow_loopback and is_loopback_redirect_uri(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None:
            return False
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


MCP_PUBLIC_CLIENT = Client(
    client_id=MCP_PUBLIC_CLIENT_ID,
    client_secret=None,
    token_endpoint_auth_method="none",  # noqa: S106 - the auth method's name, not a secret
    redirect_uris=CLAUDE_CALLBACKS,
    allow_loopback=True,
    name="MCP client",
)


class ClientRegistry:
    """Finds a client by id: the well-known public client first, then configured ones."""

    def __init__(self, configured: tuple[ClientConfig, ...]) -> None:
        self._clients = {MCP_PUBLIC_CLIENT_ID: MCP_PUBLIC_CLIENT}
        for config in configured:
            self._clients[config.client_id] = Client(
                client_id=config.client_id,
                client_secret=config.client_secret,
                token_endpoint_auth_method=config.token_endpoint_auth_method,
                redirect_uris=config.redirect_uris,
                name=config.name,
            )

    def get(self, client_id: str | None) -> Client | None:
        if not client_id:
            return None
        return self._clients.get(client_id)
