"""A client library for accessing IB OAuth Bridge"""

from .client import AuthenticatedClient, Client
from .helpers import (
    IB,
    BridgeAuth,
    BridgeError,
    BridgeMetadata,
    FileTokenStore,
    IssuerMismatch,
    LoginTimeout,
    MemoryTokenStore,
    NetworkError,
    OAuthError,
    SignInRequired,
    StateMismatch,
    TokenHolder,
    Tokens,
    discover,
    login,
)

__all__ = (
    "IB",
    "AuthenticatedClient",
    "BridgeAuth",
    "BridgeError",
    "BridgeMetadata",
    "Client",
    "FileTokenStore",
    "IssuerMismatch",
    "LoginTimeout",
    "MemoryTokenStore",
    "NetworkError",
    "OAuthError",
    "SignInRequired",
    "StateMismatch",
    "TokenHolder",
    "Tokens",
    "discover",
    "login",
)
