"""The HTTP layer: one Starlette handler per operationId of openapi.yaml.

Handlers read requests and render answers; the protocol lives below them in `oauth/` and `ib/`.
"""

from __future__ import annotations

from ..routing import Handler
from . import admin, authorize, discovery, ops, proxy, registration, token

PROXY_OPERATIONS = tuple(
    f"proxy_{method}" for method in ("get", "head", "post", "put", "patch", "delete")
)

HANDLERS: dict[str, Handler] = {
    "authorize": authorize.authorize,
    "login_submit_platform": authorize.login_submit_platform,
    "login_status": authorize.login_status,
    "login_continue": authorize.login_continue,
    "login_cancel": authorize.login_cancel,
    "token": token.token,
    "revoke": token.revoke,
    "introspect": token.introspect,
    "register": registration.register,
    "userinfo": token.userinfo,
    "authorization_server_metadata": discovery.authorization_server_metadata,
    "openid_configuration": discovery.openid_configuration,
    "protected_resource_metadata": discovery.protected_resource_metadata,
    "protected_resource_metadata_proxy": discovery.protected_resource_metadata_proxy,
    "jwks": discovery.jwks,
    "healthz": ops.healthz,
    "readyz": ops.readyz,
    "metrics": ops.metrics,
    "openapi_document": ops.openapi_document,
    "static_asset": ops.static_asset,
    "playground": ops.playground,
    "admin_page": admin.admin_page,
    "admin_callback": admin.admin_callback,
    "admin_revoke": admin.admin_revoke,
    **dict.fromkeys(PROXY_OPERATIONS, proxy.proxy),
}

__all__ = ["HANDLERS", "PROXY_OPERATIONS"]
