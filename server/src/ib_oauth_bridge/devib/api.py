"""IB's v3 API (IB-API.md section 2) under `/api/3.0.0/{clientid}/`, authenticated by `sid`.

Answers only on the API host (see `hosts.py`); latency, faults, the request log and IB's
load-balancer cookie are added around these routes by `traffic.py`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import dotted
from .data import FILTERS, generated_bytes, iso, seed_users
from .responses import json_error, state_of
from .state import Session, Upload

PREFIX = "/api/3.0.0/{clientid}"
MAX_GENERATED_SIZE = 8 * 1024**3
MAX_JSON_BODY = 1024 * 1024
MAX_SEED = 2**32

Handler = Callable[[Request, Session], Awaitable[Response]]

# Fields a list may be ordered by, per entity; anything else is a 400 like a malformed call.
_SORTABLE: dict[str, frozenset[str]] = {
    "resource": frozenset(
        {
            "_id",
            "name",
            "folder",
            "createTime",
            "lastUpdateTime",
            "file.size",
            "file.type",
            "file.name",
        }
    ),
    "user": frozenset(
        {"_id", "username", "firstname", "lastname", "email", "createTime", "lastUpdateTime"}
    ),
    "filter": frozenset({"_id", "name", "type"}),
}
_KEYWORD_FIELDS: dict[str, tuple[str, ...]] = {
    "resource": ("name", "tags"),
    "user": ("username", "firstname", "lastname", "email"),
    "filter": ("name",),
}


def v3(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Require a live `sid` for the path's client id before the handler runs."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        sid = request.headers.get("sid", "")
        session = state.live_session(sid) if sid else None
        if session is None:
            return json_error(401, "invalid_session", "Session is missing, unknown or expired")
        if request.path_params.get("clientid") != session.client_id:
            return json_error(403, "forbidden", "This session does not belong to that client")
        return await handler(request, session)

    return endpoint


def _lookup(row: dict[str, Any], dotted_field: str) -> Any:
    value: Any = row
    for part in dotted_field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(value: Any) -> tuple[int, int, str]:
    # Numbers before text before missing values, so mixed or absent fields never raise.
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value, "")
    if value is None:
        return (2, 0, "")
    return (1, 0, _text(value))


def _sort_by(name: str) -> Callable[[dict[str, Any]], tuple[int, int, str]]:
    return lambda row: _sort_key(_lookup(row, name))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _search_params(request: Request) -> dict[str, str]:
    params = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("searchParams[") and key.endswith("]"):
            params[key[len("searchParams[") : -1]] = value
    return params


def _matches(entity: str, row: dict[str, Any], params: dict[str, str]) -> bool:
    for key, wanted in params.items():
        if key == "keywords":
            needle = wanted.lower()
            haystack: list[str] = []
            for name in _KEYWORD_FIELDS[entity]:
                value = row.get(name)
                haystack.extend(value if isinstance(value, list) else [_text(value)])
            if needle and not any(needle in str(h).lower() for h in haystack):
                return False
        elif key == "isSearching":
            continue  # a UI hint in IB; it changes nothing in the answer
        elif key in row and _text(row[key]).lower() != wanted.lower():
            return False
    return True


def _rows_for(request: Request, entity: str) -> list[dict[str, Any]] | None:
    state = state_of(request)
    if entity == "resource":
        return state.resources
    if entity == "user":
        return seed_users(state.config.users)
    if entity == "filter":
        return FILTERS
    return None


@v3
async def list_entities(request: Request, session: Session) -> Response:
    try:
        query = dotted.parse(request.path_params["call"])
    except dotted.DottedSyntaxError as exc:
        return json_error(400, "bad_request", str(exc))
    rows = _rows_for(request, query.entity)
    if rows is None:
        return json_error(404, "not_found", f"Unknown entity {query.entity!r}")
    for name, _ in query.order:
        if name not in _SORTABLE[query.entity]:
            return json_error(400, "bad_request", f"Cannot order {query.entity} by {name!r}")
    params = _search_params(request)
    selected = [row for row in rows if _matches(query.entity, row, params)]
    # Stable sorts applied last key first give a multi-key order.
    for name, direction in reversed(query.order):
        selected.sort(key=_sort_by(name), reverse=direction < 0)
    page = selected[query.offset : query.offset + query.limit]
    return cacheable_json(
        request, {"response": {"rows": page, "offset": query.offset, "count": len(selected)}}
    )


def cacheable_json(request: Request, document: Any) -> Response:
    """A list answer as a caching API gives it: a strong ETag of the body, 304 to a matching
    If-None-Match, and gzip for a client that accepts it, so tests can prove that conditional
    requests and IB's Content-Encoding pass through the bridge untouched."""
    body = JSONResponse(document).body
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers={"ETag": etag})
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = gzip.compress(body, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@v3
async def get_resource(request: Request, session: Session) -> Response:
    wanted = request.path_params["rid"]
    for row in state_of(request).resources:
        if row["_id"] == wanted:
            return JSONResponse({"response": row})
    return json_error(404, "not_found", "No resource with that id")


async def _read_json(request: Request) -> Any:
    """The body as JSON, refusing bodies larger than a JSON call can sensibly be."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_JSON_BODY:
            raise ValueError("body too large")
    return json.loads(body)


@v3
async def create_resource(request: Request, session: Session) -> Response:
    try:
        payload = await _read_json(request)
    except (ValueError, ClientDisconnect):
        return json_error(400, "bad_request", "Body must be JSON of at most 1 MiB")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return json_error(400, "bad_request", 'Body must be {"data": {...}}')
    name, folder, tags = data.get("name"), data.get("folder", "Uploads"), data.get("tags", [])
    if not isinstance(name, str) or not name.strip():
        return json_error(400, "bad_request", "data.name is required")
    if not isinstance(folder, str):
        return json_error(400, "bad_request", "data.folder must be a string")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return json_error(400, "bad_request", "data.tags must be a list of strings")
    now = iso(datetime.now(UTC))
    row = {
        "_id": secrets.token_hex(12),
        "name": name,
        "folder": folder,
        # A resource created without a file has none yet; clients must tolerate null.
        "file": None,
        "createTime": now,
        "lastUpdateTime": now,
        "tags": tags,
    }
    state_of(request).resources.append(row)
    return JSONResponse({"response": row}, status_code=201)


def _int_param(request: Request, name: str, default: int | None, upper: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"{name} is required")
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) > upper:
        raise ValueError(f"{name} must be an integer from 0 to {upper}")
    return int(raw)


@v3
async def download_generated(request: Request, session: Session) -> Response:
    try:
        size = _int_param(request, "size", None, MAX_GENERATED_SIZE)
        seed = _int_param(request, "seed", 0, MAX_SEED)
        # Tests of broken answers: stop after this many bytes by dropping the connection.
        break_after = _int_param(request, "break_after", size, MAX_GENERATED_SIZE)
    except ValueError as exc:
        return json_error(400, "bad_request", str(exc))

    async def body() -> AsyncIterator[bytes]:
        # Generation is cheap and never blocks, so it runs on the loop instead of a thread hop
        # per chunk (which a sync iterator in StreamingResponse would cost).
        sent = 0
        for chunk in generated_bytes(size, seed):
            if sent + len(chunk) > break_after:
                raise ConnectionAbortedError("the emulator breaks this answer off on purpose")
            sent += len(chunk)
            yield chunk
            # Once the client is gone the server's writes stop blocking; without a yield here
            # the loop never runs the disconnect callback and spins through all `size` bytes.
            await asyncio.sleep(0)

    return StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="generated-{seed}.bin"',
        },
    )


@v3
async def upload_file(request: Request, session: Session) -> Response:
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
    except ClientDisconnect:
        return json_error(400, "bad_request", "Upload interrupted")
    upload = Upload(
        size=size,
        sha256=digest.hexdigest(),
        target=request.query_params.get("target", ""),
        content_type=request.headers.get("content-type", ""),
    )
    state_of(request).uploads.append(upload)
    return JSONResponse({"response": upload.as_json()})


@v3
async def compliance_review(request: Request, session: Session) -> Response:
    review_id = request.path_params["rid"]
    return JSONResponse(
        {
            "response": {
                "_id": review_id,
                "status": "approved",
                "reviewer": f"{session.user.firstname} {session.user.lastname}",
                "comments": [],
                "createTime": "2024-06-01T12:00:00.000Z",
            }
        }
    )


routes = [
    Route(f"{PREFIX}/file/generated", download_generated, methods=["GET"]),
    Route(f"{PREFIX}/file", upload_file, methods=["POST"]),
    Route(f"{PREFIX}/resource", create_resource, methods=["POST"]),
    Route(f"{PREFIX}/resource/{{rid}}", get_resource, methods=["GET"]),
    Route(f"{PREFIX}/complianceReview/{{rid}}", compliance_review, methods=["GET"]),
    Route(f"{PREFIX}/{{call}}", list_entities, methods=["GET"]),
]
