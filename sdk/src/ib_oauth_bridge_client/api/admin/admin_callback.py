from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    iss: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["code"] = code

    params["state"] = state

    params["iss"] = iss

    params["error"] = error

    params["error_description"] = error_description

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/admin/callback",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | OAuthErrorBody | str | None:
    if response.status_code == 303:
        response_303 = cast(Any, None)
        return response_303

    if response.status_code == 403:
        response_403 = response.text
        return response_403

    if response.status_code == 404:
        response_404 = OAuthErrorBody.from_dict(response.json())

        return response_404

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
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    iss: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Admin page sign-in callback (HTML)

     The redirect URI of the admin page's own OpenID Connect sign-in. Exchanges the code at the bridge's
    `/token` in-process, verifies the id_token (signature, iss, aud, nonce, exp), ends the grant the
    sign-in made, and answers 303 to `/admin` with a session cookie when the user is in
    `IB_BRIDGE_ADMINS`; otherwise 403 (audited `admin.refused`). A callback without the matching sign-in
    cookie and state starts the sign-in again (303).

    Args:
        code (str | Unset):
        state (str | Unset):
        iss (str | Unset):
        error (str | Unset):
        error_description (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        iss=iss,
        error=error,
        error_description=error_description,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    iss: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Admin page sign-in callback (HTML)

     The redirect URI of the admin page's own OpenID Connect sign-in. Exchanges the code at the bridge's
    `/token` in-process, verifies the id_token (signature, iss, aud, nonce, exp), ends the grant the
    sign-in made, and answers 303 to `/admin` with a session cookie when the user is in
    `IB_BRIDGE_ADMINS`; otherwise 403 (audited `admin.refused`). A callback without the matching sign-in
    cookie and state starts the sign-in again (303).

    Args:
        code (str | Unset):
        state (str | Unset):
        iss (str | Unset):
        error (str | Unset):
        error_description (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return sync_detailed(
        client=client,
        code=code,
        state=state,
        iss=iss,
        error=error,
        error_description=error_description,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    iss: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Admin page sign-in callback (HTML)

     The redirect URI of the admin page's own OpenID Connect sign-in. Exchanges the code at the bridge's
    `/token` in-process, verifies the id_token (signature, iss, aud, nonce, exp), ends the grant the
    sign-in made, and answers 303 to `/admin` with a session cookie when the user is in
    `IB_BRIDGE_ADMINS`; otherwise 403 (audited `admin.refused`). A callback without the matching sign-in
    cookie and state starts the sign-in again (303).

    Args:
        code (str | Unset):
        state (str | Unset):
        iss (str | Unset):
        error (str | Unset):
        error_description (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        iss=iss,
        error=error,
        error_description=error_description,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    iss: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Admin page sign-in callback (HTML)

     The redirect URI of the admin page's own OpenID Connect sign-in. Exchanges the code at the bridge's
    `/token` in-process, verifies the id_token (signature, iss, aud, nonce, exp), ends the grant the
    sign-in made, and answers 303 to `/admin` with a session cookie when the user is in
    `IB_BRIDGE_ADMINS`; otherwise 403 (audited `admin.refused`). A callback without the matching sign-in
    cookie and state starts the sign-in again (303).

    Args:
        code (str | Unset):
        state (str | Unset):
        iss (str | Unset):
        error (str | Unset):
        error_description (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return (
        await asyncio_detailed(
            client=client,
            code=code,
            state=state,
            iss=iss,
            error=error,
            error_description=error_description,
        )
    ).parsed
