"""Small response helpers shared by the emulator's routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from .state import EmulatorState


def json_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state
