"""Shared HTTP plumbing: turn httpx failures and error answers into the helpers' exceptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .exceptions import BridgeError, NetworkError, OAuthError

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "ib-oauth-bridge-client-helpers"


@contextmanager
def network_errors(what: str) -> Iterator[None]:
    """Re-raise httpx transport errors and timeouts as `NetworkError`, naming `what` failed."""
    try:
        yield
    except httpx.TransportError as exc:
        raise NetworkError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


def parse_json(response: httpx.Response, what: str) -> Any:
    """The (already read) body as JSON, or `BridgeError` saying it was not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = response.content[:200].decode("utf-8", "replace")
        raise BridgeError(
            f"{what}: malformed JSON in the HTTP {response.status_code} answer: {snippet!r}"
        ) from exc


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The body as a JSON object (dict), or `BridgeError`."""
    data = parse_json(response, what)
    if not isinstance(data, dict):
        raise BridgeError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def error_from(response: httpx.Response) -> OAuthError:
    """An `OAuthError` for an error answer (the body must have been read)."""
    error, description = f"http_{response.status_code}", None
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            error = body["error"]
        for key in ("error_description", "message"):
            if isinstance(body.get(key), str):
                description = body[key]
                break
    elif response.content:
        description = response.content[:200].decode("utf-8", "replace").strip() or None
    return OAuthError(error, description, response.status_code)


def raise_for_error(response: httpx.Response) -> None:
    """Raise `OAuthError` for a 4xx/5xx answer (reading its body first, if streamed)."""
    if response.status_code >= 400:
        response.read()
        raise error_from(response)


async def araise_for_error(response: httpx.Response) -> None:
    """Async variant of `raise_for_error`."""
    if response.status_code >= 400:
        await response.aread()
        raise error_from(response)


def string_field(data: dict[str, Any], key: str, what: str) -> str:
    """``data[key]`` as a non-empty string, or `BridgeError` naming the missing field."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BridgeError(f"{what}: field {key!r} is missing or not a string")
    return value
