from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    response_type: str | Unset = UNSET,
    client_id: str | Unset = UNSET,
    redirect_uri: str | Unset = UNSET,
    state: str | Unset = UNSET,
    code_challenge: str | Unset = UNSET,
    code_challenge_method: str | Unset = UNSET,
    scope: str | Unset = UNSET,
    nonce: str | Unset = UNSET,
    prompt: str | Unset = UNSET,
    resource: str | Unset = UNSET,
    platform_url: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["response_type"] = response_type

    params["client_id"] = client_id

    params["redirect_uri"] = redirect_uri

    params["state"] = state

    params["code_challenge"] = code_challenge

    params["code_challenge_method"] = code_challenge_method

    params["scope"] = scope

    params["nonce"] = nonce

    params["prompt"] = prompt

    params["resource"] = resource

    params["platform_url"] = platform_url

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/authorize",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 302:
        response_302 = cast(Any, None)
        return response_302

    if response.status_code == 400:
        response_400 = response.text
        return response_400

    if response.status_code == 429:
        response_429 = response.text
        return response_429

    if response.status_code == 503:
        response_503 = response.text
        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    response_type: str | Unset = UNSET,
    client_id: str | Unset = UNSET,
    redirect_uri: str | Unset = UNSET,
    state: str | Unset = UNSET,
    code_challenge: str | Unset = UNSET,
    code_challenge_method: str | Unset = UNSET,
    scope: str | Unset = UNSET,
    nonce: str | Unset = UNSET,
    prompt: str | Unset = UNSET,
    resource: str | Unset = UNSET,
    platform_url: str | Unset = UNSET,
) -> Response[Any | str]:
    """Authorization request; renders the login page

     OAuth 2.1 authorization endpoint (RFC 6749 section 4.1.1) with PKCE (RFC 7636, `S256` only),
    resource indicators (RFC 8707) and the `iss` response parameter (RFC 9207).

    The client and redirect URI are checked first. A missing or unknown `client_id`, a Client ID
    Metadata Document that cannot be fetched or is not valid (the page says why), a redirect URI
    that is not registered for the client, or a parameter longer than its `maxLength` gets the
    400 HTML error page and is never redirected. Once client and redirect URI are valid, every other
    error (including a missing or wrong `response_type`, a missing `code_challenge`, a method other
    than `S256`, an unknown scope or resource) is redirected (302) to `redirect_uri` with `error`,
    `error_description`, `state` and `iss`. That includes a request object, answered
    `request_not_supported` (`request`) or `request_uri_not_supported` (`request_uri`) (OpenID
    Connect Core 6, RFC 9101), and any `response_mode` other than `query` (`invalid_request`).

    On success the server opens a login transaction, sets the `ib_bridge_login` cookie (named
    `__Host-ib_bridge_login`, with `Path=/`, when the issuer is https) and renders the login page (200).

    Args:
        response_type (str | Unset):
        client_id (str | Unset):
        redirect_uri (str | Unset):
        state (str | Unset):
        code_challenge (str | Unset):
        code_challenge_method (str | Unset):
        scope (str | Unset):
        nonce (str | Unset):
        prompt (str | Unset):
        resource (str | Unset):
        platform_url (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        response_type=response_type,
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        scope=scope,
        nonce=nonce,
        prompt=prompt,
        resource=resource,
        platform_url=platform_url,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    response_type: str | Unset = UNSET,
    client_id: str | Unset = UNSET,
    redirect_uri: str | Unset = UNSET,
    state: str | Unset = UNSET,
    code_challenge: str | Unset = UNSET,
    code_challenge_method: str | Unset = UNSET,
    scope: str | Unset = UNSET,
    nonce: str | Unset = UNSET,
    prompt: str | Unset = UNSET,
    resource: str | Unset = UNSET,
    platform_url: str | Unset = UNSET,
) -> Any | str | None:
    """Authorization request; renders the login page

     OAuth 2.1 authorization endpoint (RFC 6749 section 4.1.1) with PKCE (RFC 7636, `S256` only),
    resource indicators (RFC 8707) and the `iss` response parameter (RFC 9207).

    The client and redirect URI are checked first. A missing or unknown `client_id`, a Client ID
    Metadata Document that cannot be fetched or is not valid (the page says why), a redirect URI
    that is not registered for the client, or a parameter longer than its `maxLength` gets the
    400 HTML error page and is never redirected. Once client and redirect URI are valid, every other
    error (including a missing or wrong `response_type`, a missing `code_challenge`, a method other
    than `S256`, an unknown scope or resource) is redirected (302) to `redirect_uri` with `error`,
    `error_description`, `state` and `iss`. That includes a request object, answered
    `request_not_supported` (`request`) or `request_uri_not_supported` (`request_uri`) (OpenID
    Connect Core 6, RFC 9101), and any `response_mode` other than `query` (`invalid_request`).

    On success the server opens a login transaction, sets the `ib_bridge_login` cookie (named
    `__Host-ib_bridge_login`, with `Path=/`, when the issuer is https) and renders the login page (200).

    Args:
        response_type (str | Unset):
        client_id (str | Unset):
        redirect_uri (str | Unset):
        state (str | Unset):
        code_challenge (str | Unset):
        code_challenge_method (str | Unset):
        scope (str | Unset):
        nonce (str | Unset):
        prompt (str | Unset):
        resource (str | Unset):
        platform_url (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return sync_detailed(
        client=client,
        response_type=response_type,
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        scope=scope,
        nonce=nonce,
        prompt=prompt,
        resource=resource,
        platform_url=platform_url,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    response_type: str | Unset = UNSET,
    client_id: str | Unset = UNSET,
    redirect_uri: str | Unset = UNSET,
    state: str | Unset = UNSET,
    code_challenge: str | Unset = UNSET,
    code_challenge_method: str | Unset = UNSET,
    scope: str | Unset = UNSET,
    nonce: str | Unset = UNSET,
    prompt: str | Unset = UNSET,
    resource: str | Unset = UNSET,
    platform_url: str | Unset = UNSET,
) -> Response[Any | str]:
    """Authorization request; renders the login page

     OAuth 2.1 authorization endpoint (RFC 6749 section 4.1.1) with PKCE (RFC 7636, `S256` only),
    resource indicators (RFC 8707) and the `iss` response parameter (RFC 9207).

    The client and redirect URI are checked first. A missing or unknown `client_id`, a Client ID
    Metadata Document that cannot be fetched or is not valid (the page says why), a redirect URI
    that is not registered for the client, or a parameter longer than its `maxLength` gets the
    400 HTML error page and is never redirected. Once client and redirect URI are valid, every other
    error (including a missing or wrong `response_type`, a missing `code_challenge`, a method other
    than `S256`, an unknown scope or resource) is redirected (302) to `redirect_uri` with `error`,
    `error_description`, `state` and `iss`. That includes a request object, answered
    `request_not_supported` (`request`) or `request_uri_not_supported` (`request_uri`) (OpenID
    Connect Core 6, RFC 9101), and any `response_mode` other than `query` (`invalid_request`).

    On success the server opens a login transaction, sets the `ib_bridge_login` cookie (named
    `__Host-ib_bridge_login`, with `Path=/`, when the issuer is https) and renders the login page (200).

    Args:
        response_type (str | Unset):
        client_id (str | Unset):
        redirect_uri (str | Unset):
        state (str | Unset):
        code_challenge (str | Unset):
        code_challenge_method (str | Unset):
        scope (str | Unset):
        nonce (str | Unset):
        prompt (str | Unset):
        resource (str | Unset):
        platform_url (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        response_type=response_type,
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        scope=scope,
        nonce=nonce,
        prompt=prompt,
        resource=resource,
        platform_url=platform_url,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    response_type: str | Unset = UNSET,
    client_id: str | Unset = UNSET,
    redirect_uri: str | Unset = UNSET,
    state: str | Unset = UNSET,
    code_challenge: str | Unset = UNSET,
    code_challenge_method: str | Unset = UNSET,
    scope: str | Unset = UNSET,
    nonce: str | Unset = UNSET,
    prompt: str | Unset = UNSET,
    resource: str | Unset = UNSET,
    platform_url: str | Unset = UNSET,
) -> Any | str | None:
    """Authorization request; renders the login page

     OAuth 2.1 authorization endpoint (RFC 6749 section 4.1.1) with PKCE (RFC 7636, `S256` only),
    resource indicators (RFC 8707) and the `iss` response parameter (RFC 9207).

    The client and redirect URI are checked first. A missing or unknown `client_id`, a Client ID
    Metadata Document that cannot be fetched or is not valid (the page says why), a redirect URI
    that is not registered for the client, or a parameter longer than its `maxLength` gets the
    400 HTML error page and is never redirected. Once client and redirect URI are valid, every other
    error (including a missing or wrong `response_type`, a missing `code_challenge`, a method other
    than `S256`, an unknown scope or resource) is redirected (302) to `redirect_uri` with `error`,
    `error_description`, `state` and `iss`. That includes a request object, answered
    `request_not_supported` (`request`) or `request_uri_not_supported` (`request_uri`) (OpenID
    Connect Core 6, RFC 9101), and any `response_mode` other than `query` (`invalid_request`).

    On success the server opens a login transaction, sets the `ib_bridge_login` cookie (named
    `__Host-ib_bridge_login`, with `Path=/`, when the issuer is https) and renders the login page (200).

    Args:
        response_type (str | Unset):
        client_id (str | Unset):
        redirect_uri (str | Unset):
        state (str | Unset):
        code_challenge (str | Unset):
        code_challenge_method (str | Unset):
        scope (str | Unset):
        nonce (str | Unset):
        prompt (str | Unset):
        resource (str | Unset):
        platform_url (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return (
        await asyncio_detailed(
            client=client,
            response_type=response_type,
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            scope=scope,
            nonce=nonce,
            prompt=prompt,
            resource=resource,
            platform_url=platform_url,
        )
    ).parsed
