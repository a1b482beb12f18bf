from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.login_started import LoginStarted
from ...models.o_auth_error_body import OAuthErrorBody
from ...models.platform_form import PlatformForm
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: PlatformForm,
    ib_bridge_login: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    cookies = {}
    if ib_bridge_login is not UNSET:
        cookies["ib_bridge_login"] = ib_bridge_login

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/authorize/platform",
        "cookies": cookies,
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> LoginStarted | OAuthErrorBody | None:
    if response.status_code == 200:
        response_200 = LoginStarted.from_dict(response.json())

        return response_200

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

    if response.status_code == 502:
        response_502 = OAuthErrorBody.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = OAuthErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = OAuthErrorBody.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[LoginStarted | OAuthErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PlatformForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[LoginStarted | OAuthErrorBody]:
    """Submit the IntelligenceBank platform URL and start IB's browser login

     Step 2 of the login flow behind the RFC 6749 authorization endpoint. Validates the platform URL
    (https, configured host pattern, no IP literals or private addresses), asks IB for a login token
    and answers with IB's login URL for the page to open in a popup.

    With `Accept: application/json` (the page's JavaScript) the answer is `LoginStarted` JSON;
    otherwise (no-JS form post) it is an HTML page with a link to IB's login and a Continue button.
    Requires the `ib_bridge_login` cookie, the `csrf_token` form field and a same-origin request.

    Args:
        ib_bridge_login (str | Unset):
        body (PlatformForm): The login page's platform form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LoginStarted | OAuthErrorBody]
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
    body: PlatformForm,
    ib_bridge_login: str | Unset = UNSET,
) -> LoginStarted | OAuthErrorBody | None:
    """Submit the IntelligenceBank platform URL and start IB's browser login

     Step 2 of the login flow behind the RFC 6749 authorization endpoint. Validates the platform URL
    (https, configured host pattern, no IP literals or private addresses), asks IB for a login token
    and answers with IB's login URL for the page to open in a popup.

    With `Accept: application/json` (the page's JavaScript) the answer is `LoginStarted` JSON;
    otherwise (no-JS form post) it is an HTML page with a link to IB's login and a Continue button.
    Requires the `ib_bridge_login` cookie, the `csrf_token` form field and a same-origin request.

    Args:
        ib_bridge_login (str | Unset):
        body (PlatformForm): The login page's platform form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LoginStarted | OAuthErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
        ib_bridge_login=ib_bridge_login,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PlatformForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[LoginStarted | OAuthErrorBody]:
    """Submit the IntelligenceBank platform URL and start IB's browser login

     Step 2 of the login flow behind the RFC 6749 authorization endpoint. Validates the platform URL
    (https, configured host pattern, no IP literals or private addresses), asks IB for a login token
    and answers with IB's login URL for the page to open in a popup.

    With `Accept: application/json` (the page's JavaScript) the answer is `LoginStarted` JSON;
    otherwise (no-JS form post) it is an HTML page with a link to IB's login and a Continue button.
    Requires the `ib_bridge_login` cookie, the `csrf_token` form field and a same-origin request.

    Args:
        ib_bridge_login (str | Unset):
        body (PlatformForm): The login page's platform form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LoginStarted | OAuthErrorBody]
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
    body: PlatformForm,
    ib_bridge_login: str | Unset = UNSET,
) -> LoginStarted | OAuthErrorBody | None:
    """Submit the IntelligenceBank platform URL and start IB's browser login

     Step 2 of the login flow behind the RFC 6749 authorization endpoint. Validates the platform URL
    (https, configured host pattern, no IP literals or private addresses), asks IB for a login token
    and answers with IB's login URL for the page to open in a popup.

    With `Accept: application/json` (the page's JavaScript) the answer is `LoginStarted` JSON;
    otherwise (no-JS form post) it is an HTML page with a link to IB's login and a Continue button.
    Requires the `ib_bridge_login` cookie, the `csrf_token` form field and a same-origin request.

    Args:
        ib_bridge_login (str | Unset):
        body (PlatformForm): The login page's platform form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LoginStarted | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            ib_bridge_login=ib_bridge_login,
        )
    ).parsed
