from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.o_auth_error_body import OAuthErrorBody
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/metrics",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> OAuthErrorBody | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 401:
        response_401 = OAuthErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = OAuthErrorBody.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[OAuthErrorBody | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[OAuthErrorBody | str]:
    """Prometheus metrics

     The bridge's metrics in the Prometheus text exposition format (requests and latency by operationId
    and status, sign-ins, tokens, the proxy's upstream calls, store calls, live grants; docs:
    Operations, "Metrics"). Served here only when `IB_BRIDGE_METRICS=bearer`, and only to a request
    whose Bearer token is `IB_BRIDGE_METRICS_TOKEN` (401 otherwise); 404 when metrics are off or served
    on a separate listener (`IB_BRIDGE_METRICS=port:<n>`). Like the probes, it answers whatever the
    `Host`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> OAuthErrorBody | str | None:
    """Prometheus metrics

     The bridge's metrics in the Prometheus text exposition format (requests and latency by operationId
    and status, sign-ins, tokens, the proxy's upstream calls, store calls, live grants; docs:
    Operations, "Metrics"). Served here only when `IB_BRIDGE_METRICS=bearer`, and only to a request
    whose Bearer token is `IB_BRIDGE_METRICS_TOKEN` (401 otherwise); 404 when metrics are off or served
    on a separate listener (`IB_BRIDGE_METRICS=port:<n>`). Like the probes, it answers whatever the
    `Host`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[OAuthErrorBody | str]:
    """Prometheus metrics

     The bridge's metrics in the Prometheus text exposition format (requests and latency by operationId
    and status, sign-ins, tokens, the proxy's upstream calls, store calls, live grants; docs:
    Operations, "Metrics"). Served here only when `IB_BRIDGE_METRICS=bearer`, and only to a request
    whose Bearer token is `IB_BRIDGE_METRICS_TOKEN` (401 otherwise); 404 when metrics are off or served
    on a separate listener (`IB_BRIDGE_METRICS=port:<n>`). Like the probes, it answers whatever the
    `Host`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OAuthErrorBody | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> OAuthErrorBody | str | None:
    """Prometheus metrics

     The bridge's metrics in the Prometheus text exposition format (requests and latency by operationId
    and status, sign-ins, tokens, the proxy's upstream calls, store calls, live grants; docs:
    Operations, "Metrics"). Served here only when `IB_BRIDGE_METRICS=bearer`, and only to a request
    whose Bearer token is `IB_BRIDGE_METRICS_TOKEN` (401 otherwise); 404 when metrics are off or served
    on a separate listener (`IB_BRIDGE_METRICS=port:<n>`). Like the probes, it answers whatever the
    `Host`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OAuthErrorBody | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
