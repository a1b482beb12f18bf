"""The token endpoint (RFC 6749 3.2), revocation (RFC 7009), introspection (RFC 7662) and
userinfo, over HTTP: read and check the form, hand it to Authlib (`oauth.server`), answer with
no-store."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import TokenUser
from ..bridge import bridge_of
from ..errors import BridgeError
from ..oauth.oidc import released_claims
from ..oauth.requests import BridgeOAuth2Request
from ..oauth.server import OAuthResponse
from .errors import NO_STORE
from .forms import read_form
from .limits import enforce_fraud_block, limit_address, limit_client


async def _form_request(request: Request) -> BridgeOAuth2Request:
    """The form of a token or revocation request as Authlib's request, or BridgeError. The
    address's rate limit (shared by /token, /revoke and /introspect) is checked first."""
    bridge = bridge_of(request)
    await limit_address(
        request, bridge.limits.token, "token, revocation and introspection requests"
    )
    form = await read_form(request, bridge.settings.max_form_bytes)
    oauth_request = BridgeOAuth2Request(
        "POST", str(request.url), request.headers, form=form.multi_items()
    )
    repeated = oauth_request.repeated_parameter()
    if repeated:
        # RFC 6749 3.2: request parameters MUST NOT be included more than once.
        raise BridgeError(400, "invalid_request", f"The parameter {repeated!r} is repeated.")
    return oauth_request


def _response(answer: OAuthResponse) -> Response:
    # Authlib's header names arrive lower-cased; so must ours, or both copies would be sent.
    no_store = {name.lower(): value for name, value in NO_STORE.items()}
    return Response(
        answer.body, status_code=answer.status_code, headers={**answer.headers, **no_store}
    )


async def token(request: Request) -> Response:
    bridge = bridge_of(request)
    oauth_request = await _form_request(request)
    enforce_fraud_block(bridge, oauth_request)
    resource = oauth_request.form.get("resource")
    if resource is not None and not bridge.login.resource_allowed(resource):
        raise BridgeError(400, "invalid_target", "The requested resource is not served here.")
    return _response(
        await limit_client(
            bridge, oauth_request, lambda: bridge.oauth.token_response(oauth_request)
        )
    )


async def revoke(request: Request) -> Response:
    """RFC 7009: always 200 for a well-formed request, whether or not the token was live."""
    oauth_request = await _form_request(request)
    return _response(await _endpoint(request, "revocation", oauth_request))


async def introspect(request: Request) -> Response:
    """RFC 7662: for authenticated confidential clients; `{"active": false}` for anything that
    is not a live token this client may ask about."""
    oauth_request = await _form_request(request)
    return _response(await _endpoint(request, "introspection", oauth_request))


async def _endpoint(
    request: Request, name: str, oauth_request: BridgeOAuth2Request
) -> OAuthResponse:
    bridge = bridge_of(request)
    return await limit_client(
        bridge, oauth_request, lambda: bridge.oauth.endpoint_response(name, oauth_request)
    )


async def userinfo(request: Request) -> Response:
    """OpenID Connect UserInfo: the claims the token's scopes release (`oauth.oidc`). IB's
    coordinates only to a token that can call IB: one whose audience is the proxy."""
    user: TokenUser = request.user
    assert user.session is not None, "the bridge's own middleware attaches the session"
    for_proxy = bridge_of(request).settings.proxy_resource in user.claims.audiences
    claims = released_claims(
        user.session.grant.user, user.claims.subject, user.claims.scopes, ib_claims=for_proxy
    )
    return JSONResponse(claims, headers=NO_STORE)
