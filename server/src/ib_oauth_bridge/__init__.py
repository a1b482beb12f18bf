"""IB OAuth Bridge: an OAuth 2.1 authorization server and authenticated proxy for the
IntelligenceBank API.

What operators and third-party ASGI apps use is named here; everything else is internal.
"""

from .app import create_app, create_app_from_env
from .auth import BearerTokenBackend, TokenUser, bearer_error_response, on_auth_error
from .introspection_client import IntrospectionUnavailable, TokenIntrospector
from .oauth.tokens import AccessTokenClaims, AccessTokenVerifier, InvalidAccessToken, RemoteJWKS
from .settings import Settings, SettingsError

__all__ = [
    "AccessTokenClaims",
    "AccessTokenVerifier",
    "BearerTokenBackend",
    "IntrospectionUnavailable",
    "InvalidAccessToken",
    "RemoteJWKS",
    "Settings",
    "SettingsError",
    "TokenIntrospector",
    "TokenUser",
    "bearer_error_response",
    "create_app",
    "create_app_from_env",
    "on_auth_error",
]
