from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.csrf_form import CsrfForm
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CsrfForm,
    ib_bridge_login: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    cookies = {}
    if ib_bridge_login is not UNSET:
        cookies["ib_bridge_login"] = ib_bridge_login

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/authorize/cancel",
        "cookies": cookies,
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | OAuthErrorBody | None:
    if response.status_code == 303:
        response_303 = cast(Any, None)
        return response_303

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = OAuthErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 410:
        response_410 = OAuthErrorBody.from_dict(response.json())

        return response_410

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
) -> Response[Any | OAuthErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CsrfForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody]:
    """Cancel the login

     The user declined. Ends the login transaction and redirects (303) to the client's `redirect_uri`
    with `error=access_denied`, `state` and `iss` (RFC 6749 section 4.1.2.1, RFC 9207). Once the login
    is done ("Not you? Cancel" on the signed-in step), the sign-in it made is revoked first: its code
    and any token already issued from it stop working.

    Args:
        ib_bridge_login (str | Unset):
        body (CsrfForm): A login page form that carries only the CSRF token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        ib_bridge_login=ib_bridge_login,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CsrfForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Any | OAuthErrorBody | None:
    """Cancel the login

     The user declined. Ends the login transaction and redirects (303) to the client's `redirect_uri`
    with `error=access_denied`, `state` and `iss` (RFC 6749 section 4.1.2.1, RFC 9207). Once the login
    is done ("Not you? Cancel" on the signed-in step), the sign-in it made is revoked first: its code
    and any token already issued from it stop working.

    Args:
        ib_bridge_login (str | Unset):
        body (CsrfForm): A login page form that carries only the CSRF token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
        ib_bridge_login=ib_bridge_login,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CsrfForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody]:
    """Cancel the login

     The user declined. Ends the login transaction and redirects (303) to the client's `redirect_uri`
    with `error=access_denied`, `state` and `iss` (RFC 6749 section 4.1.2.1, RFC 9207). Once the login
    is done ("Not you? Cancel" on the signed-in step), the sign-in it made is revoked first: its code
    and any token already issued from it stop working.

    Args:
        ib_bridge_login (str | Unset):
        body (CsrfForm): A login page form that carries only the CSRF token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        ib_bridge_login=ib_bridge_login,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CsrfForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Any | OAuthErrorBody | None:
    """Cancel the login

     The user declined. Ends the login transaction and redirects (303) to the client's `redirect_uri`
    with `error=access_denied`, `state` and `iss` (RFC 6749 section 4.1.2.1, RFC 9207). Once the login
    is done ("Not you? Cancel" on the signed-in step), the sign-in it made is revoked first: its code
    and any token already issued from it stop working.

    Args:
        ib_bridge_login (str | Unset):
        body (CsrfForm): A login page form that carries only the CSRF token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            ib_bridge_login=ib_bridge_login,
        )
    ).parsed
