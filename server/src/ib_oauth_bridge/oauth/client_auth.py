"""Client authentication at /token and /revoke: Authlib's three methods, with two repairs.

- HTTP Basic with an empty secret (`Basic base64("mcp-public-client:")`, what requests-oauthlib
  and other libraries send for a client without a secret) is the `none` method, exactly as an
  empty `client_secret` in the form is. A confidential client still fails: `none` is not its
  method.
- Basic credentials that are not base64, not UTF-8 or have no colon are a 401 `invalid_client`
  (RFC 6749 2.3.1 and 5.2), where Authlib would fail with a 500 or silently ignore them.

Registered over Authlib's own `client_secret_basic` and `none` (see `register_client_auth`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote

from authlib.oauth2.rfc6749.errors import InvalidClientError

from .clients import Client

if TYPE_CHECKING:
    from .requests import BridgeOAuth2Request

QueryClient = Callable[[str], Client | None]


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(client_id, secret) from `Authorization: Basic ...`; None when the request does not use
    HTTP Basic; InvalidClientError (401) when it does but the credentials cannot be read."""
    header = headers.get("authorization") or ""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    encoded = encoded.strip()
    try:
        padded = encoded + "=" * (-len(encoded) % 4)  # some clients leave the padding off
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise _invalid("The HTTP Basic credentials are not valid base64 of UTF-8 text.") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise _invalid("The HTTP Basic credentials must be 'client_id:client_secret'.")
    # RFC 6749 2.3.1: both are form-urlencoded before they are joined.
    return unquote(client_id), unquote(secret)


def authenticate_client_secret_basic(
    query_client: QueryClient, request: BridgeOAuth2Request
) -> Client | None:
    credentials = basic_credentials(request.headers)
    if credentials is None or not credentials[1]:
        return None  # no Basic, or Basic with no secret (that is `none`, below)
    client_id, secret = credentials
    client = query_client(client_id)
    if client is None:
        raise _invalid("The client does not exist on this server.")
    return client if client.check_client_secret(secret) else None


def authenticate_none(query_client: QueryClient, request: BridgeOAuth2Request) -> Client | None:
    """A public client names itself: `client_id` in the form, or HTTP Basic with an empty
    secret; a client that sent a secret anywhere is not using `none`."""
    credentials = basic_credentials(request.headers)
    form_client_id = request.payload.client_id
    if request.payload.data.get("client_secret"):
        return None
    if credentials is not None:
        client_id, secret = credentials
        if secret:
            return None
        if form_client_id and form_client_id != client_id:
            raise _invalid("The client_id in the form and in HTTP Basic differ.")
    elif form_client_id:
        client_id = form_client_id
    else:
        return None
    client = query_client(client_id)
    if client is None:
        raise InvalidClientError(
            status_code=401 if credentials else 400,
            description="The client does not exist on this server.",
        )
    return client


def _invalid(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=401, description=description)


def register_client_auth(register: Callable[[str, object], None]) -> None:
    """Install both methods on an Authlib AuthorizationServer
    (`register_client_auth_method`)."""
    register("client_secret_basic", authenticate_client_secret_basic)
    register("none", authenticate_none)
