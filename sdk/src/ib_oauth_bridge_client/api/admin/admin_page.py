from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    revoked: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["revoked"] = revoked

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/admin",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | OAuthErrorBody | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 303:
        response_303 = cast(Any, None)
        return response_303

    if response.status_code == 404:
        response_404 = OAuthErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 503:
        response_503 = response.text
        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | OAuthErrorBody | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    revoked: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Admin page (HTML)

     The operators' page: live grants (user, client, created, last used, refresh count, IB session end)
    with a Revoke button each, the clients, and this worker's recent audit events. Exists only when
    `IB_BRIDGE_ADMINS` is set (otherwise 404). Without a valid admin session cookie it answers 303 to
    `/authorize` (the bridge's own OpenID Connect sign-in, client `ib-bridge-admin`, PKCE S256, state,
    nonce).

    Args:
        revoked (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
    """

    kwargs = _get_kwargs(
        revoked=revoked,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    revoked: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Admin page (HTML)

     The operators' page: live grants (user, client, created, last used, refresh count, IB session end)
    with a Revoke button each, the clients, and this worker's recent audit events. Exists only when
    `IB_BRIDGE_ADMINS` is set (otherwise 404). Without a valid admin session cookie it answers 303 to
    `/authorize` (the bridge's own OpenID Connect sign-in, client `ib-bridge-admin`, PKCE S256, state,
    nonce).

    Args:
        revoked (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return sync_detailed(
        client=client,
        revoked=revoked,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    revoked: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Admin page (HTML)

     The operators' page: live grants (user, client, created, last used, refresh count, IB session end)
    with a Revoke button each, the clients, and this worker's recent audit events. Exists only when
    `IB_BRIDGE_ADMINS` is set (otherwise 404). Without a valid admin session cookie it answers 303 to
    `/authorize` (the bridge's own OpenID Connect sign-in, client `ib-bridge-admin`, PKCE S256, state,
    nonce).

    Args:
        revoked (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
    """

    kwargs = _get_kwargs(
        revoked=revoked,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    revoked: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Admin page (HTML)

     The operators' page: live grants (user, client, created, last used, refresh count, IB session end)
    with a Revoke button each, the clients, and this worker's recent audit events. Exists only when
    `IB_BRIDGE_ADMINS` is set (otherwise 404). Without a valid admin session cookie it answers 303 to
    `/authorize` (the bridge's own OpenID Connect sign-in, client `ib-bridge-admin`, PKCE S256, state,
    nonce).

    Args:
        revoked (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return (
        await asyncio_detailed(
            client=client,
            revoked=revoked,
        )
    ).parsed
