"""Strict reading of application/x-www-form-urlencoded bodies for the OAuth and login endpoints.

Stricter than a general form parser on purpose: a size cap (413), the right content type (415),
UTF-8 only and a bounded number of fields (400). Bad input gets a clear error (BridgeError),
never a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from ..errors import BridgeError

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 64


async def read_form(request: Request, max_bytes: int) -> ImmutableMultiDict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise BridgeError(415, "invalid_request", f"The body must be {FORM_CONTENT_TYPE}.")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise BridgeError(413, "invalid_request", f"The body is larger than {max_bytes} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise BridgeError(413, "invalid_request", f"The body is larger than {max_bytes} bytes.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise BridgeError(400, "invalid_request", "The body is not valid UTF-8.") from None
    except ValueError:
        raise BridgeError(
            400, "invalid_request", f"The body has more than {MAX_FIELDS} fields."
        ) from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise BridgeError(400, "invalid_request", "The body contains a NUL character.")
    return ImmutableMultiDict(pairs)
