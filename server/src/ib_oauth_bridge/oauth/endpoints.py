"""The token endpoint (RFC 6749 3.2), userinfo, and discovery: RFC 8414 authorization server
metadata, RFC 9728 protected resource metadata, and the JWK Set."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import TokenUser
from ..bridge import Bridge, bridge_of
from ..formdata import FormError, read_form
from .authorize import resource_allowed
from .clients import SUPPORTED_SCOPES
from .requests import StarletteOAuth2Request

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(status_code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status_code,
        headers=NO_STORE,
    )


async def _form_request(request: Request) -> StarletteOAuth2Request | Response:
    """The form of a token or revocation request as Authlib's request, or the error answer."""
    bridge = bridge_of(request)
    try:
        form = await read_form(request, bridge.settings.max_form_bytes)
    except FormError as exc:
        return oauth_error(exc.status_code, exc.error, exc.description)
    repeated = [name for name in form if len(form.getlist(name)) > 1]
    if repeated:
        # RFC 6749 3.2: request parameters MUST NOT be included more than once.
        return oauth_error(400, "invalid_request", f"The parameter {repeated[0]!r} is repeated.")
    return StarletteOAuth2Request(
        "POST", str(request.url), request.headers, ImmutableMultiDict(), form
    )


async def token(request: Request) -> Response:
    bridge = bridge_of(request)
    oauth_request = await _form_request(request)
    if isinstance(oauth_request, Response):
        return oauth_request
    resource = oauth_request.form.get("resource")
    if resource is not None and not resource_allowed(bridge, resource):
        return oauth_error(400, "invalid_target", "The requested resource is not served here.")
    response: Response = await run_in_threadpool(bridge.oauth.create_token_response, oauth_request)
    response.headers.update(NO_STORE)
    return response


async def revoke(request: Request) -> Response:
    """RFC 7009: always 200 for a well-formed request, whether or not the token was live."""
    oauth_request = await _form_request(request)
    if isinstance(oauth_request, Response):
        return oauth_request
    response: Response = await run_in_threadpool(
        bridge_of(request).oauth.create_endpoint_response, "revocation", oauth_request
    )
    response.headers.update(NO_STORE)
    return response


async def userinfo(request: Request) -> Response:
    user: TokenUser = request.user
    claims = dict(user.session.grant.user)
    claims["sub"] = user.claims.subject
    return JSONResponse(claims, headers=NO_STORE)


def authorization_server_metadata_document(bridge: Bridge) -> dict[str, Any]:
    issuer = bridge.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
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
            "scopes_supported": list(SUPPORTED_SCOPES),
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
