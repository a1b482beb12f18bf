from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...models.token_request import TokenRequest
from ...models.token_response import TokenResponse
from ...types import Response


def _get_kwargs(
    *,
    body: TokenRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> OAuthErrorBody | TokenResponse | None:
    if response.status_code == 200:
        response_200 = TokenResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OAuthErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = OAuthErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = OAuthErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = OAuthErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = OAuthErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[OAuthErrorBody | TokenResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
) -> Response[OAuthErrorBody | TokenResponse]:
    """Exchange an authorization code, a refresh token, or a user's access token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued), `refresh_token` (rotated on every use; a used
    one revokes the grant, except that the same client retrying the refresh it just made, within
    `IB_BRIDGE_REFRESH_GRACE_SECONDS`, gets the same answer again, as long as it has not used the
    new refresh token yet), and `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693,
    below). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707 `resource` of the
    authorization request alone, or `<issuer>/proxy` when it named none; a `resource` sent here
    must be that same one (else `invalid_target`). Only tokens for `<issuer>/proxy` work at the
    proxy. Nothing outlives the user's IB session.

    Token exchange (RFC 8693): a resource server configured with `"token_exchange": true` and its
    `"resource"` (a confidential client; `client_secret_basic` or `client_secret_post`) sends a
    user's access token whose `aud` holds its resource as `subject_token`
    (`subject_token_type=urn:ietf:params:oauth:token-type:access_token`), with
    `resource` or `audience` `<issuer>/proxy` or neither, and gets a proxy token: `aud`
    `[<issuer>/proxy]`, `act: {"sub": <its client_id>}`, scope within the subject token's, the
    same grant (it ends with the sign-in), `exp` no later than the subject token's, no refresh
    token, `issued_token_type` in the answer. Errors: `unauthorized_client` (not allowed to
    exchange), `invalid_request` (subject token missing, of another type, invalid, not for the
    client's resource, or of an ended sign-in; an `actor_token`), `invalid_target` (a resource
    or audience other than the proxy), `invalid_scope`.

    Public clients send `client_id` in the form, or HTTP Basic with an empty secret
    (`Basic base64("client_id:")`, which many OAuth libraries send); confidential clients
    authenticate with HTTP Basic (`client_secret_basic`) or `client_secret` in the form
    (`client_secret_post`). Unreadable Basic credentials are a 401 `invalid_client`.

    With the `openid` scope the answer carries an OpenID Connect `id_token`, on refresh too.

    Args:
        body (TokenRequest): Token request form (RFC 6749 sections 4.1.3 and 6, RFC 7636 section
            4.5, RFC 8707).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | TokenResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
) -> OAuthErrorBody | TokenResponse | None:
    """Exchange an authorization code, a refresh token, or a user's access token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued), `refresh_token` (rotated on every use; a used
    one revokes the grant, except that the same client retrying the refresh it just made, within
    `IB_BRIDGE_REFRESH_GRACE_SECONDS`, gets the same answer again, as long as it has not used the
    new refresh token yet), and `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693,
    below). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707 `resource` of the
    authorization request alone, or `<issuer>/proxy` when it named none; a `resource` sent here
    must be that same one (else `invalid_target`). Only tokens for `<issuer>/proxy` work at the
    proxy. Nothing outlives the user's IB session.

    Token exchange (RFC 8693): a resource server configured with `"token_exchange": true` and its
    `"resource"` (a confidential client; `client_secret_basic` or `client_secret_post`) sends a
    user's access token whose `aud` holds its resource as `subject_token`
    (`subject_token_type=urn:ietf:params:oauth:token-type:access_token`), with
    `resource` or `audience` `<issuer>/proxy` or neither, and gets a proxy token: `aud`
    `[<issuer>/proxy]`, `act: {"sub": <its client_id>}`, scope within the subject token's, the
    same grant (it ends with the sign-in), `exp` no later than the subject token's, no refresh
    token, `issued_token_type` in the answer. Errors: `unauthorized_client` (not allowed to
    exchange), `invalid_request` (subject token missing, of another type, invalid, not for the
    client's resource, or of an ended sign-in; an `actor_token`), `invalid_target` (a resource
    or audience other than the proxy), `invalid_scope`.

    Public clients send `client_id` in the form, or HTTP Basic with an empty secret
    (`Basic base64("client_id:")`, which many OAuth libraries send); confidential clients
    authenticate with HTTP Basic (`client_secret_basic`) or `client_secret` in the form
    (`client_secret_post`). Unreadable Basic credentials are a 401 `invalid_client`.

    With the `openid` scope the answer carries an OpenID Connect `id_token`, on refresh too.

    Args:
        body (TokenRequest): Token request form (RFC 6749 sections 4.1.3 and 6, RFC 7636 section
            4.5, RFC 8707).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | TokenResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
) -> Response[OAuthErrorBody | TokenResponse]:
    """Exchange an authorization code, a refresh token, or a user's access token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued), `refresh_token` (rotated on every use; a used
    one revokes the grant, except that the same client retrying the refresh it just made, within
    `IB_BRIDGE_REFRESH_GRACE_SECONDS`, gets the same answer again, as long as it has not used the
    new refresh token yet), and `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693,
    below). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707 `resource` of the
    authorization request alone, or `<issuer>/proxy` when it named none; a `resource` sent here
    must be that same one (else `invalid_target`). Only tokens for `<issuer>/proxy` work at the
    proxy. Nothing outlives the user's IB session.

    Token exchange (RFC 8693): a resource server configured with `"token_exchange": true` and its
    `"resource"` (a confidential client; `client_secret_basic` or `client_secret_post`) sends a
    user's access token whose `aud` holds its resource as `subject_token`
    (`subject_token_type=urn:ietf:params:oauth:token-type:access_token`), with
    `resource` or `audience` `<issuer>/proxy` or neither, and gets a proxy token: `aud`
    `[<issuer>/proxy]`, `act: {"sub": <its client_id>}`, scope within the subject token's, the
    same grant (it ends with the sign-in), `exp` no later than the subject token's, no refresh
    token, `issued_token_type` in the answer. Errors: `unauthorized_client` (not allowed to
    exchange), `invalid_request` (subject token missing, of another type, invalid, not for the
    client's resource, or of an ended sign-in; an `actor_token`), `invalid_target` (a resource
    or audience other than the proxy), `invalid_scope`.

    Public clients send `client_id` in the form, or HTTP Basic with an empty secret
    (`Basic base64("client_id:")`, which many OAuth libraries send); confidential clients
    authenticate with HTTP Basic (`client_secret_basic`) or `client_secret` in the form
    (`client_secret_post`). Unreadable Basic credentials are a 401 `invalid_client`.

    With the `openid` scope the answer carries an OpenID Connect `id_token`, on refresh too.

    Args:
        body (TokenRequest): Token request form (RFC 6749 sections 4.1.3 and 6, RFC 7636 section
            4.5, RFC 8707).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | TokenResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
) -> OAuthErrorBody | TokenResponse | None:
    """Exchange an authorization code, a refresh token, or a user's access token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued), `refresh_token` (rotated on every use; a used
    one revokes the grant, except that the same client retrying the refresh it just made, within
    `IB_BRIDGE_REFRESH_GRACE_SECONDS`, gets the same answer again, as long as it has not used the
    new refresh token yet), and `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693,
    below). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707 `resource` of the
    authorization request alone, or `<issuer>/proxy` when it named none; a `resource` sent here
    must be that same one (else `invalid_target`). Only tokens for `<issuer>/proxy` work at the
    proxy. Nothing outlives the user's IB session.

    Token exchange (RFC 8693): a resource server configured with `"token_exchange": true` and its
    `"resource"` (a confidential client; `client_secret_basic` or `client_secret_post`) sends a
    user's access token whose `aud` holds its resource as `subject_token`
    (`subject_token_type=urn:ietf:params:oauth:token-type:access_token`), with
    `resource` or `audience` `<issuer>/proxy` or neither, and gets a proxy token: `aud`
    `[<issuer>/proxy]`, `act: {"sub": <its client_id>}`, scope within the subject token's, the
    same grant (it ends with the sign-in), `exp` no later than the subject token's, no refresh
    token, `issued_token_type` in the answer. Errors: `unauthorized_client` (not allowed to
    exchange), `invalid_request` (subject token missing, of another type, invalid, not for the
    client's resource, or of an ended sign-in; an `actor_token`), `invalid_target` (a resource
    or audience other than the proxy), `invalid_scope`.

    Public clients send `client_id` in the form, or HTTP Basic with an empty secret
    (`Basic base64("client_id:")`, which many OAuth libraries send); confidential clients
    authenticate with HTTP Basic (`client_secret_basic`) or `client_secret` in the form
    (`client_secret_post`). Unreadable Basic credentials are a 401 `invalid_client`.

    With the `openid` scope the answer carries an OpenID Connect `id_token`, on refresh too.

    Args:
        body (TokenRequest): Token request form (RFC 6749 sections 4.1.3 and 6, RFC 7636 section
            4.5, RFC 8707).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | TokenResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
