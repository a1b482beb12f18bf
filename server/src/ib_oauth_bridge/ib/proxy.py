"""The IB API proxy's policy: `/proxy/{host}/{path}` and `/proxy/{path}` (relative to the
session's apiV3url) mapped to IB URLs, with the caller's bearer token swapped for the session's
`sid` header. The HTTP handler that streams through it is `handlers.proxy`.

Security first: the target host must be the session's own API or platform host, or nothing is
sent. The caller's Authorization, Cookie, any `sid` and hop-by-hop headers are dropped; IB's
Set-Cookie, and any IB header whose value contains the sid, never reach the caller. Path and
query pass byte for byte (IB's dotted syntax and `searchParams[...]` brackets). Bodies stream
both ways, so memory stays flat for any file size.
"""

from __future__ import annotations

from ..errors import BridgeError
from .session import IBSession

PREFIX = b"/proxy/"
SMALL_BODY = 64 * 1024  # answers up to this size are buffered, larger ones stream
READ_METHODS = frozenset({"GET", "HEAD"})
# RFC 9110 7.6.1 hop-by-hop headers, plus what the bridge itself must own.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    }
)
DROP_REQUEST = HOP_BY_HOP | {
    "host",
    "authorization",
    "cookie",
    "sid",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "origin",
    "referer",
}
# IB's Date and Server go too: the server in front of the bridge (uvicorn, hypercorn, ...)
# always adds its own Date (and may add Server), and an answer must carry each at most once.
DROP_RESPONSE = HOP_BY_HOP | {"set-cookie", "set-cookie2", "date", "server"}


def upstream_url(session: IBSession, raw_path: bytes, query: bytes) -> str:
    """The IB URL for a proxied request, or BridgeError when its host is not the session's."""
    rest = raw_path[len(PREFIX) :] if raw_path.startswith(PREFIX) else b""
    first, _, remainder = rest.partition(b"/")
    first_text = first.decode("latin-1").lower()
    if "." in first_text or ":" in first_text:
        # The host form: the first segment names a host, and it must be one of the session's.
        if first_text not in session.allowed_hosts:
            raise BridgeError(
                403, "forbidden_host", f"{first_text} is not this session's IntelligenceBank host."
            )
        base = next(
            url
            for url in (session.grant.api_v3_url, session.grant.platform_url)
            if url.lower().split("://", 1)[1] == first_text
        )
        path = b"/" + remainder
    else:
        base, path = session.grant.api_v3_url, b"/" + rest
    if b"/../" in path + b"/" or b"/./" in path + b"/" or b"\\" in path:
        raise BridgeError(400, "invalid_request", "The path must not contain dot segments.")
    raw = path + (b"?" + query if query else b"")
    # As the caller sent it: percent-escapes, brackets and parentheses are not re-encoded.
    return base + raw.decode("latin-1")


def _connection_tokens(value: str) -> set[str]:
    """RFC 9110 7.6.1: the headers a Connection header names are hop-by-hop too."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def request_headers(
    raw: list[tuple[bytes, bytes]], connection: str, session: IBSession
) -> list[tuple[str, str]]:
    """The caller's headers as IB gets them: less credentials, hop-by-hop and proxy headers,
    plus the session's sid."""
    drop = DROP_REQUEST | _connection_tokens(connection)
    headers = []
    for name, value in raw:
        text = name.decode("latin-1")
        if text.lower() not in drop:
            headers.append((text, value.decode("latin-1")))
    headers.append(("sid", session.sid))
    return headers


def response_headers(
    raw: tuple[tuple[bytes, bytes], ...], connection: str, sid: str
) -> list[tuple[bytes, bytes]]:
    """IB's headers as they came (repeated ones included), less cookies, hop-by-hop, and any
    header whose value carries the session's sid (IB echoing it, in a Location or a debug
    header, must not hand the caller the credential the bridge exists to hide)."""
    drop = DROP_RESPONSE | _connection_tokens(connection)
    secret = sid.encode("latin-1", "replace") if sid else None
    return [
        (name, value)
        for name, value in raw
        if name.decode("latin-1").lower() not in drop and (secret is None or secret not in value)
    ]
