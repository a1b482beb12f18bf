"""Requests to the token endpoint (RFC 6749 3.2), shared by `login()` and `TokenHolder`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ._http import error_from, json_object
from .tokens import Tokens


def token_request(
    data: dict[str, str], client_id: str, client_secret: str | None
) -> dict[str, Any]:
    """httpx keyword arguments for a token request.

    A public client names itself with `client_id` in the form; a confidential one authenticates
    with HTTP Basic (`client_secret_basic`, RFC 6749 2.3.1: both parts form-urlencoded).
    """
    form = dict(data)
    kwargs: dict[str, Any] = {"headers": {"Accept": "application/json"}}
    if client_secret is None:
        form["client_id"] = client_id
    else:
        kwargs["auth"] = httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))
    kwargs["data"] = form
    return kwargs


def tokens_from(response: httpx.Response, sent_at: float, previous: Tokens | None) -> Tokens:
    """The tokens of a 200 answer; `OAuthError` for an error answer (RFC 6749 5.2)."""
    if response.status_code != 200:
        raise error_from(response)
    return Tokens.from_response(json_object(response, "token answer"), sent_at, previous=previous)
