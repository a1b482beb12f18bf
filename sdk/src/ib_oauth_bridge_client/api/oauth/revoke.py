from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...models.revocation_request import RevocationRequest
from ...models.revoke_response_200 import RevokeResponse200
from ...types import Response


def _get_kwargs(
    *,
    body: RevocationRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/revoke",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> OAuthErrorBody | RevokeResponse200 | None:
    if response.status_code == 200:
        response_200 = RevokeResponse200.from_dict(response.json())

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
) -> Response[OAuthErrorBody | RevokeResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: RevocationRequest,
) -> Response[OAuthErrorBody | RevokeResponse200]:
    """Revoke a refresh or access token (sign out)

     OAuth 2.0 token revocation (RFC 7009). Revoking either token of a grant ends the whole grant:
    the refresh token stops working and every access token of the grant is refused by the proxy
    at once. Answers 200 whether or not the token was still live (RFC 7009 section 2.2).
    Clients authenticate as at `/token`: `client_id` in the form for public clients, HTTP Basic
    or `client_secret` in the form for confidential ones.

    Args:
        body (RevocationRequest): Revocation request form (RFC 7009 section 2.1).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | RevokeResponse200]
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
    body: RevocationRequest,
) -> OAuthErrorBody | RevokeResponse200 | None:
    """Revoke a refresh or access token (sign out)

     OAuth 2.0 token revocation (RFC 7009). Revoking either token of a grant ends the whole grant:
    the refresh token stops working and every access token of the grant is refused by the proxy
    at once. Answers 200 whether or not the token was still live (RFC 7009 section 2.2).
    Clients authenticate as at `/token`: `client_id` in the form for public clients, HTTP Basic
    or `client_secret` in the form for confidential ones.

    Args:
        body (RevocationRequest): Revocation request form (RFC 7009 section 2.1).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | RevokeResponse200
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RevocationRequest,
) -> Response[OAuthErrorBody | RevokeResponse200]:
    """Revoke a refresh or access token (sign out)

     OAuth 2.0 token revocation (RFC 7009). Revoking either token of a grant ends the whole grant:
    the refresh token stops working and every access token of the grant is refused by the proxy
    at once. Answers 200 whether or not the token was still live (RFC 7009 section 2.2).
    Clients authenticate as at `/token`: `client_id` in the form for public clients, HTTP Basic
    or `client_secret` in the form for confidential ones.

    Args:
        body (RevocationRequest): Revocation request form (RFC 7009 section 2.1).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | RevokeResponse200]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: RevocationRequest,
) -> OAuthErrorBody | RevokeResponse200 | None:
    """Revoke a refresh or access token (sign out)

     OAuth 2.0 token revocation (RFC 7009). Revoking either token of a grant ends the whole grant:
    the refresh token stops working and every access token of the grant is refused by the proxy
    at once. Answers 200 whether or not the token was still live (RFC 7009 section 2.2).
    Clients authenticate as at `/token`: `client_id` in the form for public clients, HTTP Basic
    or `client_secret` in the form for confidential ones.

    Args:
        body (RevocationRequest): Revocation request form (RFC 7009 section 2.1).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | RevokeResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
