from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.client_information import ClientInformation
from ...models.client_metadata import ClientMetadata
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: ClientMetadata,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/register",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClientInformation | OAuthErrorBody | None:
    if response.status_code == 201:
        response_201 = ClientInformation.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = OAuthErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OAuthErrorBody.from_dict(response.json())

        return response_401

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
) -> Response[ClientInformation | OAuthErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ClientMetadata,
) -> Response[ClientInformation | OAuthErrorBody]:
    """Register a client (dynamic client registration)

     RFC 7591 dynamic client registration, for clients that start without a client id (MCP
    hosts, the MCP SDKs). Send the client's metadata as a JSON object; the answer is the
    metadata as registered (with any value the server filled in) plus `client_id` and
    `client_id_issued_at`, and, for a confidential client only, `client_secret` (shown once,
    stored only as a hash) with `client_secret_expires_at: 0` (never).

    Rules: `redirect_uris` is required: https URIs, `http` only on a loopback host
    (127.0.0.1, [::1], localhost; any port matches at `/authorize`, RFC 8252 section 7.3), or a
    native app's private-use scheme (`com.example.app:/cb`); never a fragment, userinfo, a
    relative URI or a browser-internal scheme (`javascript:`, `data:`, `file:`...).
    `token_endpoint_auth_method` is `none` (public, PKCE only), `client_secret_basic` (the
    default when omitted, RFC 7591 section 2) or `client_secret_post`. `grant_types` holds
    `authorization_code` and optionally `refresh_token` (both when omitted);
    `response_types` is `code`. `scope` may name only supported scopes. `client_name` is
    shown to the user on the sign-in page, marked as unverified; `client_uri`, `logo_uri`,
    `tos_uri`, `policy_uri` must be https and are never fetched. Unknown metadata, `jwks`,
    `jwks_uri` and `software_statement` are ignored.

    Registration is open unless the server has an initial access token
    (`IB_BRIDGE_REGISTRATION_ACCESS_TOKEN`, RFC 7591 section 3.1), is rate-limited per client
    address, and a registration that never completes a sign-in expires (24 h by default).
    There is no registration access token or management endpoint (RFC 7592).

    Args:
        body (ClientMetadata): RFC 7591 section 2 client metadata. Fields not listed here are
            ignored. A `null` or an empty list counts as absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientInformation | OAuthErrorBody]
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
    client: AuthenticatedClient,
    body: ClientMetadata,
) -> ClientInformation | OAuthErrorBody | None:
    """Register a client (dynamic client registration)

     RFC 7591 dynamic client registration, for clients that start without a client id (MCP
    hosts, the MCP SDKs). Send the client's metadata as a JSON object; the answer is the
    metadata as registered (with any value the server filled in) plus `client_id` and
    `client_id_issued_at`, and, for a confidential client only, `client_secret` (shown once,
    stored only as a hash) with `client_secret_expires_at: 0` (never).

    Rules: `redirect_uris` is required: https URIs, `http` only on a loopback host
    (127.0.0.1, [::1], localhost; any port matches at `/authorize`, RFC 8252 section 7.3), or a
    native app's private-use scheme (`com.example.app:/cb`); never a fragment, userinfo, a
    relative URI or a browser-internal scheme (`javascript:`, `data:`, `file:`...).
    `token_endpoint_auth_method` is `none` (public, PKCE only), `client_secret_basic` (the
    default when omitted, RFC 7591 section 2) or `client_secret_post`. `grant_types` holds
    `authorization_code` and optionally `refresh_token` (both when omitted);
    `response_types` is `code`. `scope` may name only supported scopes. `client_name` is
    shown to the user on the sign-in page, marked as unverified; `client_uri`, `logo_uri`,
    `tos_uri`, `policy_uri` must be https and are never fetched. Unknown metadata, `jwks`,
    `jwks_uri` and `software_statement` are ignored.

    Registration is open unless the server has an initial access token
    (`IB_BRIDGE_REGISTRATION_ACCESS_TOKEN`, RFC 7591 section 3.1), is rate-limited per client
    address, and a registration that never completes a sign-in expires (24 h by default).
    There is no registration access token or management endpoint (RFC 7592).

    Args:
        body (ClientMetadata): RFC 7591 section 2 client metadata. Fields not listed here are
            ignored. A `null` or an empty list counts as absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientInformation | OAuthErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ClientMetadata,
) -> Response[ClientInformation | OAuthErrorBody]:
    """Register a client (dynamic client registration)

     RFC 7591 dynamic client registration, for clients that start without a client id (MCP
    hosts, the MCP SDKs). Send the client's metadata as a JSON object; the answer is the
    metadata as registered (with any value the server filled in) plus `client_id` and
    `client_id_issued_at`, and, for a confidential client only, `client_secret` (shown once,
    stored only as a hash) with `client_secret_expires_at: 0` (never).

    Rules: `redirect_uris` is required: https URIs, `http` only on a loopback host
    (127.0.0.1, [::1], localhost; any port matches at `/authorize`, RFC 8252 section 7.3), or a
    native app's private-use scheme (`com.example.app:/cb`); never a fragment, userinfo, a
    relative URI or a browser-internal scheme (`javascript:`, `data:`, `file:`...).
    `token_endpoint_auth_method` is `none` (public, PKCE only), `client_secret_basic` (the
    default when omitted, RFC 7591 section 2) or `client_secret_post`. `grant_types` holds
    `authorization_code` and optionally `refresh_token` (both when omitted);
    `response_types` is `code`. `scope` may name only supported scopes. `client_name` is
    shown to the user on the sign-in page, marked as unverified; `client_uri`, `logo_uri`,
    `tos_uri`, `policy_uri` must be https and are never fetched. Unknown metadata, `jwks`,
    `jwks_uri` and `software_statement` are ignored.

    Registration is open unless the server has an initial access token
    (`IB_BRIDGE_REGISTRATION_ACCESS_TOKEN`, RFC 7591 section 3.1), is rate-limited per client
    address, and a registration that never completes a sign-in expires (24 h by default).
    There is no registration access token or management endpoint (RFC 7592).

    Args:
        body (ClientMetadata): RFC 7591 section 2 client metadata. Fields not listed here are
            ignored. A `null` or an empty list counts as absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientInformation | OAuthErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ClientMetadata,
) -> ClientInformation | OAuthErrorBody | None:
    """Register a client (dynamic client registration)

     RFC 7591 dynamic client registration, for clients that start without a client id (MCP
    hosts, the MCP SDKs). Send the client's metadata as a JSON object; the answer is the
    metadata as registered (with any value the server filled in) plus `client_id` and
    `client_id_issued_at`, and, for a confidential client only, `client_secret` (shown once,
    stored only as a hash) with `client_secret_expires_at: 0` (never).

    Rules: `redirect_uris` is required: https URIs, `http` only on a loopback host
    (127.0.0.1, [::1], localhost; any port matches at `/authorize`, RFC 8252 section 7.3), or a
    native app's private-use scheme (`com.example.app:/cb`); never a fragment, userinfo, a
    relative URI or a browser-internal scheme (`javascript:`, `data:`, `file:`...).
    `token_endpoint_auth_method` is `none` (public, PKCE only), `client_secret_basic` (the
    default when omitted, RFC 7591 section 2) or `client_secret_post`. `grant_types` holds
    `authorization_code` and optionally `refresh_token` (both when omitted);
    `response_types` is `code`. `scope` may name only supported scopes. `client_name` is
    shown to the user on the sign-in page, marked as unverified; `client_uri`, `logo_uri`,
    `tos_uri`, `policy_uri` must be https and are never fetched. Unknown metadata, `jwks`,
    `jwks_uri` and `software_statement` are ignored.

    Registration is open unless the server has an initial access token
    (`IB_BRIDGE_REGISTRATION_ACCESS_TOKEN`, RFC 7591 section 3.1), is rate-limited per client
    address, and a registration that never completes a sign-in expires (24 h by default).
    There is no registration access token or management endpoint (RFC 7592).

    Args:
        body (ClientMetadata): RFC 7591 section 2 client metadata. Fields not listed here are
            ignored. A `null` or an empty list counts as absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientInformation | OAuthErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
