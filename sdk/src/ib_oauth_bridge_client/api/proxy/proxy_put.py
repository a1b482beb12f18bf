from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.ib_json import IBJson
from ...models.o_auth_error_body import OAuthErrorBody
from ...models.proxy_multipart_body import ProxyMultipartBody
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    path: str,
    *,
    body: IBJson | File | ProxyMultipartBody | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/proxy/{path}".format(
            path=quote(str(path), safe="/:@!$&'()*+,;="),
        ),
    }

    if isinstance(body, IBJson):
        if not isinstance(body, Unset):
            _kwargs["json"] = body.to_dict()

        headers["Content-Type"] = "application/json"
    if isinstance(body, File):
        if not isinstance(body, Unset):
            _kwargs["content"] = body.payload
        headers["Content-Type"] = "application/octet-stream"
    if isinstance(body, ProxyMultipartBody):
        if not isinstance(body, Unset):
            _kwargs["files"] = body.to_multipart()

        headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | IBJson | OAuthErrorBody:
    if response.status_code == 200:
        response_200 = IBJson.from_dict(response.json())

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

    if response.status_code == 408:
        response_408 = OAuthErrorBody.from_dict(response.json())

        return response_408

    if response.status_code == 413:
        response_413 = OAuthErrorBody.from_dict(response.json())

        return response_413

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
) -> Response[Any | IBJson | OAuthErrorBody]:
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
    body: IBJson | File | ProxyMultipartBody | Unset = UNSET,
) -> Response[Any | IBJson | OAuthErrorBody]:
    """PUT through the proxy to the IB v3 API

     Replace in the IB v3 API (needs `ib.write`); the body is streamed to IB. Bearer JWT access token
    (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 408 `request_timeout`, 413, 429 `too_many_requests`, 431,
    502, 504; any other status is IB's own.

    Args:
        path (str):
        body (IBJson | Unset): A JSON object to or from the IB v3 API, passed through unchanged.
        body (File | Unset):
        body (ProxyMultipartBody | Unset): A multipart body (e.g. an IB file upload), streamed to
            IB unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | IBJson | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        path=path,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    path: str,
    *,
    client: AuthenticatedClient,
    body: IBJson | File | ProxyMultipartBody | Unset = UNSET,
) -> Any | IBJson | OAuthErrorBody | None:
    """PUT through the proxy to the IB v3 API

     Replace in the IB v3 API (needs `ib.write`); the body is streamed to IB. Bearer JWT access token
    (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 408 `request_timeout`, 413, 429 `too_many_requests`, 431,
    502, 504; any other status is IB's own.

    Args:
        path (str):
        body (IBJson | Unset): A JSON object to or from the IB v3 API, passed through unchanged.
        body (File | Unset):
        body (ProxyMultipartBody | Unset): A multipart body (e.g. an IB file upload), streamed to
            IB unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | IBJson | OAuthErrorBody
    """

    return sync_detailed(
        path=path,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    path: str,
    *,
    client: AuthenticatedClient,
    body: IBJson | File | ProxyMultipartBody | Unset = UNSET,
) -> Response[Any | IBJson | OAuthErrorBody]:
    """PUT through the proxy to the IB v3 API

     Replace in the IB v3 API (needs `ib.write`); the body is streamed to IB. Bearer JWT access token
    (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 408 `request_timeout`, 413, 429 `too_many_requests`, 431,
    502, 504; any other status is IB's own.

    Args:
        path (str):
        body (IBJson | Unset): A JSON object to or from the IB v3 API, passed through unchanged.
        body (File | Unset):
        body (ProxyMultipartBody | Unset): A multipart body (e.g. an IB file upload), streamed to
            IB unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | IBJson | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        path=path,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    path: str,
    *,
    client: AuthenticatedClient,
    body: IBJson | File | ProxyMultipartBody | Unset = UNSET,
) -> Any | IBJson | OAuthErrorBody | None:
    """PUT through the proxy to the IB v3 API

     Replace in the IB v3 API (needs `ib.write`); the body is streamed to IB. Bearer JWT access token
    (RFC 6750, RFC 9068; audience per RFC 8707). Bridge errors: 401 `invalid_token`, 403
    `insufficient_scope`/`forbidden_host`, 408 `request_timeout`, 413, 429 `too_many_requests`, 431,
    502, 504; any other status is IB's own.

    Args:
        path (str):
        body (IBJson | Unset): A JSON object to or from the IB v3 API, passed through unchanged.
        body (File | Unset):
        body (ProxyMultipartBody | Unset): A multipart body (e.g. an IB file upload), streamed to
            IB unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | IBJson | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            path=path,
            client=client,
            body=body,
        )
    ).parsed
