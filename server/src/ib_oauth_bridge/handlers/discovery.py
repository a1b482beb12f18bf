"""Discovery: RFC 8414 authorization server metadata (also served as OpenID Connect's
openid-configuration), RFC 9728 protected resource metadata, and the JWK Set."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..bridge import Bridge, bridge_of
from ..oauth.clients import PROXY_SCOPES, SUPPORTED_SCOPES
from ..oauth.oidc import CLAIMS_SUPPORTED
from ..oauth.token_exchange import TOKEN_EXCHANGE


def authorization_server_metadata_document(bridge: Bridge) -> dict[str, Any]:
    issuer = bridge.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "registration_endpoint": f"{issuer}/register",
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
        # OpenID Connect Discovery 1.0: only what the bridge does.
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "service_documentation": f"{issuer}/openapi.yaml",
    }


async def authorization_server_metadata(request: Request) -> Response:
    return JSONResponse(authorization_server_metadata_document(bridge_of(request)))


async def openid_configuration(request: Request) -> Response:
    return JSONResponse(authorization_server_metadata_document(bridge_of(request)))


async def protected_resource_metadata(request: Request) -> Response:
    settings = bridge_of(request).settings
    return JSONResponse(
        {
            "resource": settings.proxy_resource,
            "authorization_servers": [settings.issuer],
            "bearer_methods_supported": ["header"],
            # The proxy's own scopes: an MCP client asks for these, not the OpenID ones.
            "scopes_supported": list(PROXY_SCOPES),
            "resource_name": "IntelligenceBank API through the IB OAuth Bridge",
            "resource_documentation": f"{settings.issuer}/openapi.yaml",
        }
    )


async def protected_resource_metadata_proxy(request: Request) -> Response:
    return await protected_resource_metadata(request)


async def jwks(request: Request) -> Response:
    return JSONResponse(
        bridge_of(request).keys.public_jwks(), headers={"Cache-Control": "public, max-age=300"}
    )
