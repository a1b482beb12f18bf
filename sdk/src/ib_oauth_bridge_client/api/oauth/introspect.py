from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.introspection_request import IntrospectionRequest
from ...models.introspection_response import IntrospectionResponse
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: IntrospectionRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/introspect",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> IntrospectionResponse | OAuthErrorBody | None:
    if response.status_code == 200:
        response_200 = IntrospectionResponse.from_dict(response.json())

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
) -> Response[IntrospectionResponse | OAuthErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: IntrospectionRequest,
) -> Response[IntrospectionResponse | OAuthErrorBody]:
    """Ask whether a token is live (for resource servers)

     OAuth 2.0 token introspection (RFC 7662), for confidential clients only: a resource server
    (an MCP server, say) learns whether an access or refresh token is still live, so a revoked
    sign-in stops working there at once. A client may always ask about its own tokens, and about
    any token when it is configured with `"introspect": true` in `IB_BRIDGE_CLIENTS`. A token
    that is expired, revoked, past its IB session, unknown, or not the client's to ask about is
    `{"active": false}`.

    Args:
        body (IntrospectionRequest): Introspection request form (RFC 7662 section 2.1). Other
            parameters are ignored, but no parameter may appear twice (400 `invalid_request`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IntrospectionResponse | OAuthErrorBody]
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
    body: IntrospectionRequest,
) -> IntrospectionResponse | OAuthErrorBody | None:
    """Ask whether a token is live (for resource servers)

     OAuth 2.0 token introspection (RFC 7662), for confidential clients only: a resource server
    (an MCP server, say) learns whether an access or refresh token is still live, so a revoked
    sign-in stops working there at once. A client may always ask about its own tokens, and about
    any token when it is configured with `"introspect": true` in `IB_BRIDGE_CLIENTS`. A token
    that is expired, revoked, past its IB session, unknown, or not the client's to ask about is
    `{"active": false}`.

    Args:
        body (IntrospectionRequest): Introspection request form (RFC 7662 section 2.1). Other
            parameters are ignored, but no parameter may appear twice (400 `invalid_request`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IntrospectionResponse | OAuthErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: IntrospectionRequest,
) -> Response[IntrospectionResponse | OAuthErrorBody]:
    """Ask whether a token is live (for resource servers)

     OAuth 2.0 token introspection (RFC 7662), for confidential clients only: a resource server
    (an MCP server, say) learns whether an access or refresh token is still live, so a revoked
    sign-in stops working there at once. A client may always ask about its own tokens, and about
    any token when it is configured with `"introspect": true` in `IB_BRIDGE_CLIENTS`. A token
    that is expired, revoked, past its IB session, unknown, or not the client's to ask about is
    `{"active": false}`.

    Args:
        body (IntrospectionRequest): Introspection request form (RFC 7662 section 2.1). Other
            parameters are ignored, but no parameter may appear twice (400 `invalid_request`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IntrospectionResponse | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: IntrospectionRequest,
) -> IntrospectionResponse | OAuthErrorBody | None:
    """Ask whether a token is live (for resource servers)

     OAuth 2.0 token introspection (RFC 7662), for confidential clients only: a resource server
    (an MCP server, say) learns whether an access or refresh token is still live, so a revoked
    sign-in stops working there at once. A client may always ask about its own tokens, and about
    any token when it is configured with `"introspect": true` in `IB_BRIDGE_CLIENTS`. A token
    that is expired, revoked, past its IB session, unknown, or not the client's to ask about is
    `{"active": false}`.

    Args:
        body (IntrospectionRequest): Introspection request form (RFC 7662 section 2.1). Other
            parameters are ignored, but no parameter may appear twice (400 `invalid_request`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IntrospectionResponse | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
