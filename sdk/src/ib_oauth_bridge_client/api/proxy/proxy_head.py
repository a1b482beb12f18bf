from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import Response


def _get_kwargs(
    path: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "head",
        "url": "/proxy/{path}".format(
            path=quote(str(path), safe="/:@!$&'()*+,;="),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | OAuthErrorBody:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OAuthErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = OAuthErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 429:
        response_429 = OAuthErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = OAuthErrorBody.from_dict(response.json())

        return response_431

    if response.status_code == 502:
        response_502 = OAuthErrorBody.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = OAuthErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = OAuthErrorBody.from_dict(response.json())

        return response_504

    response_default = cast(Any, None)
    return response_default


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
    path: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | OAuthErrorBody]:
    """HEAD through the proxy to the IB v3 API

     Headers only (needs `ib.read`); IB's status and headers are passed through, no body. Bearer JWT
    access token (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 429 `too_many_requests`, 431, 502, 504; any other status is
    IB's own.

    Args:
        path (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        path=path,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    path: str,
    *,
    client: AuthenticatedClient,
) -> Any | OAuthErrorBody | None:
    """HEAD through the proxy to the IB v3 API

     Headers only (needs `ib.read`); IB's status and headers are passed through, no body. Bearer JWT
    access token (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 429 `too_many_requests`, 431, 502, 504; any other status is
    IB's own.

    Args:
        path (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody
    """

    return sync_detailed(
        path=path,
        client=client,
    ).parsed


async def asyncio_detailed(
    path: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | OAuthErrorBody]:
    """HEAD through the proxy to the IB v3 API

     Headers only (needs `ib.read`); IB's status and headers are passed through, no body. Bearer JWT
    access token (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 429 `too_many_requests`, 431, 502, 504; any other status is
    IB's own.

    Args:
        path (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        path=path,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    path: str,
    *,
    client: AuthenticatedClient,
) -> Any | OAuthErrorBody | None:
    """HEAD through the proxy to the IB v3 API

     Headers only (needs `ib.read`); IB's status and headers are passed through, no body. Bearer JWT
    access token (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 429 `too_many_requests`, 431, 502, 504; any other status is
    IB's own.

    Args:
        path (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            path=path,
            client=client,
        )
    ).parsed
