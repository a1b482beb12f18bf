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
    """Exchange an authorization code or a refresh token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued) and `refresh_token` (rotated on every use; a used
    one revokes the grant). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707
    `resource`; nothing outlives the user's IB session.

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
    """Exchange an authorization code or a refresh token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued) and `refresh_token` (rotated on every use; a used
    one revokes the grant). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707
    `resource`; nothing outlives the user's IB session.

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
    """Exchange an authorization code or a refresh token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued) and `refresh_token` (rotated on every use; a used
    one revokes the grant). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707
    `resource`; nothing outlives the user's IB session.

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
    """Exchange an authorization code or a refresh token

     OAuth 2.1 token endpoint (RFC 6749 sections 3.2, 4.1.3 and 6). Grants:
    `authorization_code` (PKCE `code_verifier` required, RFC 7636; `redirect_uri` and client must
    match; a reused code revokes what it issued) and `refresh_token` (rotated on every use; a used
    one revokes the grant). The access token is an RFC 9068 JWT whose `aud` is the RFC 8707
    `resource`; nothing outlives the user's IB session.

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
