from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.admin_revoke_body import AdminRevokeBody
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: AdminRevokeBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/revoke",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | OAuthErrorBody | str | None:
    if response.status_code == 303:
        response_303 = cast(Any, None)
        return response_303

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = response.text
        return response_403

    if response.status_code == 404:
        response_404 = OAuthErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = OAuthErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = OAuthErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 503:
        response_503 = OAuthErrorBody.from_dict(response.json())

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
    body: AdminRevokeBody,
) -> Response[Any | OAuthErrorBody | str]:
    """Revoke a grant from the admin page

     The admin page's Revoke button: ends the grant (as the admin CLI's `grants revoke` does) and answers
    303 to `/admin`. Needs the admin session cookie, the page's CSRF token, and a same-origin request;
    audited `grant.ended` (reason `admin`, `actor` the operator).

    Args:
        body (AdminRevokeBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
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
    client: AuthenticatedClient | Client,
    body: AdminRevokeBody,
) -> Any | OAuthErrorBody | str | None:
    """Revoke a grant from the admin page

     The admin page's Revoke button: ends the grant (as the admin CLI's `grants revoke` does) and answers
    303 to `/admin`. Needs the admin session cookie, the page's CSRF token, and a same-origin request;
    audited `grant.ended` (reason `admin`, `actor` the operator).

    Args:
        body (AdminRevokeBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AdminRevokeBody,
) -> Response[Any | OAuthErrorBody | str]:
    """Revoke a grant from the admin page

     The admin page's Revoke button: ends the grant (as the admin CLI's `grants revoke` does) and answers
    303 to `/admin`. Needs the admin session cookie, the page's CSRF token, and a same-origin request;
    audited `grant.ended` (reason `admin`, `actor` the operator).

    Args:
        body (AdminRevokeBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: AdminRevokeBody,
) -> Any | OAuthErrorBody | str | None:
    """Revoke a grant from the admin page

     The admin page's Revoke button: ends the grant (as the admin CLI's `grants revoke` does) and answers
    303 to `/admin`. Needs the admin session cookie, the page's CSRF token, and a same-origin request;
    audited `grant.ended` (reason `admin`, `actor` the operator).

    Args:
        body (AdminRevokeBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
