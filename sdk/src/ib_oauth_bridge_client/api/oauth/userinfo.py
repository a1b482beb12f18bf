from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...models.user_info import UserInfo
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/userinfo",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> OAuthErrorBody | UserInfo | None:
    if response.status_code == 200:
        response_200 = UserInfo.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OAuthErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 503:
        response_503 = OAuthErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[OAuthErrorBody | UserInfo]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[OAuthErrorBody | UserInfo]:
    """Claims about the signed-in IntelligenceBank user

     OpenID Connect UserInfo: claims taken from IB's login answer, for the user behind the Bearer access
    token (RFC 6750, RFC 9068), as the token's scopes release them: `sub` always; `name`, `given_name`,
    `family_name` with `profile`; `email` with `email`; the IB coordinates (`ib_client_id`,
    `ib_client_name`, `ib_api_url`, `ib_platform_url`) with `ib.read` or `ib.write`, to a token for the
    proxy only. Claims IB did not send are left out. Never includes the IB session id. Accepts access
    tokens for the proxy (`aud` holds `<issuer>/proxy`), and those of an OpenID Connect sign-in (scope
    `openid`) for any resource (OpenID Connect Core section 5.3); any other token is a 401
    `invalid_token`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | UserInfo]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> OAuthErrorBody | UserInfo | None:
    """Claims about the signed-in IntelligenceBank user

     OpenID Connect UserInfo: claims taken from IB's login answer, for the user behind the Bearer access
    token (RFC 6750, RFC 9068), as the token's scopes release them: `sub` always; `name`, `given_name`,
    `family_name` with `profile`; `email` with `email`; the IB coordinates (`ib_client_id`,
    `ib_client_name`, `ib_api_url`, `ib_platform_url`) with `ib.read` or `ib.write`, to a token for the
    proxy only. Claims IB did not send are left out. Never includes the IB session id. Accepts access
    tokens for the proxy (`aud` holds `<issuer>/proxy`), and those of an OpenID Connect sign-in (scope
    `openid`) for any resource (OpenID Connect Core section 5.3); any other token is a 401
    `invalid_token`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | UserInfo
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[OAuthErrorBody | UserInfo]:
    """Claims about the signed-in IntelligenceBank user

     OpenID Connect UserInfo: claims taken from IB's login answer, for the user behind the Bearer access
    token (RFC 6750, RFC 9068), as the token's scopes release them: `sub` always; `name`, `given_name`,
    `family_name` with `profile`; `email` with `email`; the IB coordinates (`ib_client_id`,
    `ib_client_name`, `ib_api_url`, `ib_platform_url`) with `ib.read` or `ib.write`, to a token for the
    proxy only. Claims IB did not send are left out. Never includes the IB session id. Accepts access
    tokens for the proxy (`aud` holds `<issuer>/proxy`), and those of an OpenID Connect sign-in (scope
    `openid`) for any resource (OpenID Connect Core section 5.3); any other token is a 401
    `invalid_token`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | UserInfo]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> OAuthErrorBody | UserInfo | None:
    """Claims about the signed-in IntelligenceBank user

     OpenID Connect UserInfo: claims taken from IB's login answer, for the user behind the Bearer access
    token (RFC 6750, RFC 9068), as the token's scopes release them: `sub` always; `name`, `given_name`,
    `family_name` with `profile`; `email` with `email`; the IB coordinates (`ib_client_id`,
    `ib_client_name`, `ib_api_url`, `ib_platform_url`) with `ib.read` or `ib.write`, to a token for the
    proxy only. Claims IB did not send are left out. Never includes the IB session id. Accepts access
    tokens for the proxy (`aud` holds `<issuer>/proxy`), and those of an OpenID Connect sign-in (scope
    `openid`) for any resource (OpenID Connect Core section 5.3); any other token is a 401
    `invalid_token`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | UserInfo
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
