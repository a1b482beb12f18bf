"""Hand-written helpers of the IB OAuth Bridge client: sign in from a desktop or CLI program,
keep the tokens fresh (safely, with rotating refresh tokens) and call IntelligenceBank through
the bridge's proxy.

    from ib_oauth_bridge_client.helpers import IB, FileTokenStore, login

    holder = login("https://bridge.example.com", store=FileTokenStore("~/.ib-tokens.json"))
    with IB("https://bridge.example.com", holder) as ib:
        for row in ib.iter_resources(keywords="logo"):
            print(row["name"])

Depends on the standard library and httpx only.
"""

from .auth import BridgeAuth
from .discovery import BridgeMetadata, discover
from .exceptions import (
    BridgeError,
    IssuerMismatch,
    LoginTimeout,
    NetworkError,
    OAuthError,
    SignInRequired,
    StateMismatch,
)
from .holder import TokenHolder
from .ib import IB
from .login import login
from .stores import FileTokenStore, MemoryTokenStore, TokenStore
from .tokens import Tokens

__all__ = [
    "IB",
    "BridgeAuth",
    "BridgeError",
    "BridgeMetadata",
    "FileTokenStore",
    "IssuerMismatch",
    "LoginTimeout",
    "MemoryTokenStore",
    "NetworkError",
    "OAuthError",
    "SignInRequired",
    "StateMismatch",
    "TokenHolder",
    "TokenStore",
    "Tokens",
    "discover",
    "login",
]
