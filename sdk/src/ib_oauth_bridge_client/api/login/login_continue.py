from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.login_continue_form import LoginContinueForm
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: LoginContinueForm,
    ib_bridge_login: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    cookies = {}
    if ib_bridge_login is not UNSET:
        cookies["ib_bridge_login"] = ib_bridge_login

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/authorize/continue",
        "cookies": cookies,
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
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
    body: LoginContinueForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Continue to the app once signed in; no-JS fallback to check the login

     With `confirm=1` on a login that is done (the person has seen who signed in): redirects (303) to the
    client's `redirect_uri` with `code`, `state` and `iss` (RFC 6749 section 4.1.2, RFC 9207). The code
    is the one issued when IB reported the login; when that one expired unused (`IB_BRIDGE_CODE_TTL`), a
    fresh code for the same sign-in is issued, at most one per request, and never when the client has
    already exchanged the first. Without `confirm=1` (the no-JavaScript "I've signed in" button), or
    before the login is done: checks the IB login once and renders the page again, showing who signed in
    with Continue and "Not you? Cancel" when it is done, else a message (pending, failed, IB
    unreachable). A login is never returned to the app before the page has shown who signed in.

    Args:
        ib_bridge_login (str | Unset):
        body (LoginContinueForm): The login page's Continue form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
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
    body: LoginContinueForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Continue to the app once signed in; no-JS fallback to check the login

     With `confirm=1` on a login that is done (the person has seen who signed in): redirects (303) to the
    client's `redirect_uri` with `code`, `state` and `iss` (RFC 6749 section 4.1.2, RFC 9207). The code
    is the one issued when IB reported the login; when that one expired unused (`IB_BRIDGE_CODE_TTL`), a
    fresh code for the same sign-in is issued, at most one per request, and never when the client has
    already exchanged the first. Without `confirm=1` (the no-JavaScript "I've signed in" button), or
    before the login is done: checks the IB login once and renders the page again, showing who signed in
    with Continue and "Not you? Cancel" when it is done, else a message (pending, failed, IB
    unreachable). A login is never returned to the app before the page has shown who signed in.

    Args:
        ib_bridge_login (str | Unset):
        body (LoginContinueForm): The login page's Continue form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody | str
    """

    return sync_detailed(
        client=client,
        body=body,
        ib_bridge_login=ib_bridge_login,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoginContinueForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Response[Any | OAuthErrorBody | str]:
    """Continue to the app once signed in; no-JS fallback to check the login

     With `confirm=1` on a login that is done (the person has seen who signed in): redirects (303) to the
    client's `redirect_uri` with `code`, `state` and `iss` (RFC 6749 section 4.1.2, RFC 9207). The code
    is the one issued when IB reported the login; when that one expired unused (`IB_BRIDGE_CODE_TTL`), a
    fresh code for the same sign-in is issued, at most one per request, and never when the client has
    already exchanged the first. Without `confirm=1` (the no-JavaScript "I've signed in" button), or
    before the login is done: checks the IB login once and renders the page again, showing who signed in
    with Continue and "Not you? Cancel" when it is done, else a message (pending, failed, IB
    unreachable). A login is never returned to the app before the page has shown who signed in.

    Args:
        ib_bridge_login (str | Unset):
        body (LoginContinueForm): The login page's Continue form.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody | str]
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
    body: LoginContinueForm,
    ib_bridge_login: str | Unset = UNSET,
) -> Any | OAuthErrorBody | str | None:
    """Continue to the app once signed in; no-JS fallback to check the login

     With `confirm=1` on a login that is done (the person has seen who signed in): redirects (303) to the
    client's `redirect_uri` with `code`, `state` and `iss` (RFC 6749 section 4.1.2, RFC 9207). The code
    is the one issued when IB reported the login; when that one expired unused (`IB_BRIDGE_CODE_TTL`), a
    fresh code for the same sign-in is issued, at most one per request, and never when the client has
    already exchanged the first. Without `confirm=1` (the no-JavaScript "I've signed in" button), or
    before the login is done: checks the IB login once and renders the page again, showing who signed in
    with Continue and "Not you? Cancel" when it is done, else a message (pending, failed, IB
    unreachable). A login is never returned to the app before the page has shown who signed in.

    Args:
        ib_bridge_login (str | Unset):
        body (LoginContinueForm): The login page's Continue form.

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
            ib_bridge_login=ib_bridge_login,
        )
    ).parsed
