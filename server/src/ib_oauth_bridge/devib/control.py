"""Test control endpoints under `/_emulator/`: change timings, inject faults, expire sessions,
read the v3 request log and the recorded uploads, and reset everything. Served on both hosts.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .responses import json_error, state_of
from .state import Failure


class BadBody(ValueError):
    pass


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        raw = await request.body()
        payload = json.loads(raw) if raw.strip() else {}
    except (ValueError, ClientDisconnect) as exc:
        raise BadBody("Body must be a JSON object") from exc
    if not isinstance(payload, dict):
        raise BadBody("Body must be a JSON object")
    return payload


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadBody(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


async def config(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        try:
            body = await _json_object(request)
            unknown = set(body) - {
                "latency_ms",
                "login_latency_ms",
                "login_timeout_hours",
                "login_token_ttl",
            }
            if unknown:
                raise BadBody(f"Unknown settings: {', '.join(sorted(unknown))}")
            # Validate everything first so a bad request changes nothing.
            latency = _number(
                body.get("latency_ms", state.config.latency_ms), "latency_ms", 0, 600_000
            )
            login_latency = _number(
                body.get("login_latency_ms", state.config.login_latency_ms),
                "login_latency_ms",
                0,
                600_000,
            )
            ttl = _number(
                body.get("login_token_ttl", state.config.login_token_ttl),
                "login_token_ttl",
                0,
                86_400,
            )
            hours = body.get("login_timeout_hours", state.config.login_timeout_hours)
            # IB's logintimeoutperiod is a whole number of hours from 1 to 120.
            if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 120:
                raise BadBody("login_timeout_hours must be an integer from 1 to 120")
        except BadBody as exc:
            return json_error(400, "bad_request", str(exc))
        state.config.latency_ms = latency
        state.config.login_latency_ms = login_latency
        state.config.login_token_ttl = ttl
        state.config.login_timeout_hours = hours
    return JSONResponse(state.config.public_view())


async def fail(request: Request) -> Response:
    try:
        body = await _json_object(request)
        status, times = body.get("status"), body.get("times", 1)
        path_contains = body.get("path_contains", "")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise BadBody("status must be an HTTP error status from 400 to 599")
        if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= 10_000:
            raise BadBody("times must be an integer from 0 to 10000")
        if not isinstance(path_contains, str):
            raise BadBody("path_contains must be a string")
    except BadBody as exc:
        return json_error(400, "bad_request", str(exc))
    state = state_of(request)
    if times:
        state.failures.append(Failure(status=status, times=times, path_contains=path_contains))
    return JSONResponse({"armed": [vars(f) for f in state.failures]})


async def expire_sessions(request: Request) -> Response:
    try:
        body = await _json_object(request)
        user = body.get("user")
        if user is not None and not isinstance(user, str):
            raise BadBody("user must be a username")
    except BadBody as exc:
        return json_error(400, "bad_request", str(exc))
    return JSONResponse({"expired": state_of(request).expire_sessions(user)})


async def requests_log(request: Request) -> Response:
    return JSONResponse({"requests": [r.as_json() for r in state_of(request).requests]})


async def uploads(request: Request) -> Response:
    return JSONResponse({"uploads": [u.as_json() for u in state_of(request).uploads]})


async def reset(request: Request) -> Response:
    state = state_of(request)
    state.reset()
    return JSONResponse(state.config.public_view())


routes = [
    Route("/_emulator/config", config, methods=["GET", "POST"]),
    Route("/_emulator/fail", fail, methods=["POST"]),
    Route("/_emulator/expire-sessions", expire_sessions, methods=["POST"]),
    Route("/_emulator/requests", requests_log, methods=["GET"]),
    Route("/_emulator/uploads", uploads, methods=["GET"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
]
