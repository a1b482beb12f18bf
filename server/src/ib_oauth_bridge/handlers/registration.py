"""Dynamic client registration (RFC 7591) over HTTP: rate-limit the caller, read the JSON
body strictly, hand it to Authlib's registration endpoint (`oauth.registration`)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from ..audit import Event, Outcome
from ..bridge import Bridge, bridge_of
from ..errors import BridgeError
from ..oauth.requests import BridgeJsonRequest
from ..oauth.server import OAuthResponse
from .errors import NO_STORE
from .limits import limit_address

JSON_CONTENT_TYPE = "application/json"
MAX_BODY_BYTES = 16 * 1024  # client metadata is a few hundred bytes


async def read_json_object(request: Request, max_bytes: int) -> dict[str, object]:
    """The body as a JSON object, or BridgeError: 415 for another media type, 413 beyond
    `max_bytes`, 400 `invalid_client_metadata` for anything that is not a JSON object."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON_CONTENT_TYPE:
        raise BridgeError(415, "invalid_request", f"The body must be {JSON_CONTENT_TYPE}.")
    declared = request.headers.get("content-length")
    too_large = BridgeError(413, "invalid_request", f"The body is larger than {max_bytes} bytes.")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise too_large
    try:
        data = json.loads(bytes(body).decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BridgeError(
            400, "invalid_client_metadata", "The body is not valid JSON (UTF-8)."
        ) from None
    if not isinstance(data, dict):
        raise BridgeError(
            400, "invalid_client_metadata", "The body must be a JSON object of client metadata."
        )
    return data


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


async def register(request: Request) -> Response:
    bridge = bridge_of(request)
    await limit_address(request, bridge.limits.registration, "registrations")
    metadata = await read_json_object(request, MAX_BODY_BYTES)
    oauth_request = BridgeJsonRequest("POST", str(request.url), request.headers, metadata)
    answer = await bridge.oauth.endpoint_response("client_registration", oauth_request)
    _audit(bridge, answer)
    return _response(answer)


def _audit(bridge: Bridge, answer: OAuthResponse) -> None:
    """`client.registered`: the new client's id, or the refusal's error code. Nothing else of
    the answer (it holds the client secret)."""
    try:
        body = json.loads(answer.body or "{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if answer.status_code == 201:
        client_id = body.get("client_id")
        bridge.audit.emit(
            Event.CLIENT_REGISTERED, client_id=client_id if isinstance(client_id, str) else None
        )
    else:
        error = body.get("error")
        bridge.audit.emit(
            Event.CLIENT_REGISTERED,
            Outcome.FAILURE,
            reason=error if isinstance(error, str) else None,
        )


def _response(answer: OAuthResponse) -> Response:
    no_store = {name.lower(): value for name, value in NO_STORE.items()}
    return Response(
        answer.body, status_code=answer.status_code, headers={**answer.headers, **no_store}
    )
