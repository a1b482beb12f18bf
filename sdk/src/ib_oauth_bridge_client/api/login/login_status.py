from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.login_status import LoginStatus
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    ib_bridge_login: str | Unset = UNSET,
) -> dict[str, Any]:

    cookies = {}
    if ib_bridge_login is not UNSET:
        cookies["ib_bridge_login"] = ib_bridge_login

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/authorize/status",
        "cookies": cookies,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> LoginStatus | OAuthErrorBody | None:
    if response.status_code == 200:
        response_200 = LoginStatus.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = OAuthErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 410:
        response_410 = OAuthErrorBody.from_dict(response.json())

        return response_410

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
) -> Response[LoginStatus | OAuthErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[LoginStatus | OAuthErrorBody]:
    """Poll the login transaction

     Polled by the login page while the user signs in on IB's page (part of the RFC 6749 authorization
    step). The server asks IB at most about once a second per transaction. When `status` is `done`,
    `redirect_to` is the client's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), for scripted
    clients, and `signed_in_as` names who signed in. The login page itself does not follow
    `redirect_to`: it shows `signed_in_as` and waits for the person to choose Continue (`POST
    /authorize/continue` with `confirm=1`) or "Not you? Cancel".

    Args:
        ib_bridge_login (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LoginStatus | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        ib_bridge_login=ib_bridge_login,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    ib_bridge_login: str | Unset = UNSET,
) -> LoginStatus | OAuthErrorBody | None:
    """Poll the login transaction

     Polled by the login page while the user signs in on IB's page (part of the RFC 6749 authorization
    step). The server asks IB at most about once a second per transaction. When `status` is `done`,
    `redirect_to` is the client's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), for scripted
    clients, and `signed_in_as` names who signed in. The login page itself does not follow
    `redirect_to`: it shows `signed_in_as` and waits for the person to choose Continue (`POST
    /authorize/continue` with `confirm=1`) or "Not you? Cancel".

    Args:
        ib_bridge_login (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LoginStatus | OAuthErrorBody
    """

    return sync_detailed(
        client=client,
        ib_bridge_login=ib_bridge_login,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[LoginStatus | OAuthErrorBody]:
    """Poll the login transaction

     Polled by the login page while the user signs in on IB's page (part of the RFC 6749 authorization
    step). The server asks IB at most about once a second per transaction. When `status` is `done`,
    `redirect_to` is the client's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), for scripted
    clients, and `signed_in_as` names who signed in. The login page itself does not follow
    `redirect_to`: it shows `signed_in_as` and waits for the person to choose Continue (`POST
    /authorize/continue` with `confirm=1`) or "Not you? Cancel".

    Args:
        ib_bridge_login (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LoginStatus | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        ib_bridge_login=ib_bridge_login,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    ib_bridge_login: str | Unset = UNSET,
) -> LoginStatus | OAuthErrorBody | None:
    """Poll the login transaction

     Polled by the login page while the user signs in on IB's page (part of the RFC 6749 authorization
    step). The server asks IB at most about once a second per transaction. When `status` is `done`,
    `redirect_to` is the client's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), for scripted
    clients, and `signed_in_as` names who signed in. The login page itself does not follow
    `redirect_to`: it shows `signed_in_as` and waits for the person to choose Continue (`POST
    /authorize/continue` with `confirm=1`) or "Not you? Cancel".

    Args:
        ib_bridge_login (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LoginStatus | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            ib_bridge_login=ib_bridge_login,
        )
    ).parsed
