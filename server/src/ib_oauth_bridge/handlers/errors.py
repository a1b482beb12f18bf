"""Where every error becomes a response: `BridgeError` (and Starlette's HTTPException, and the
unexpected) rendered as RFC 6749/6750 JSON, as the HTML error page, or as a redirect back to the
client, in one place.

A browser navigating the login pages gets the page; the page's own script (Accept: JSON), API
clients and everything else get JSON.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..errors import BridgeError
from ..web.templates import render_page

log = logging.getLogger("ib_oauth_bridge")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The login pages a browser reaches by navigation or a plain form post (no JavaScript).
PAGE_PATH = "/authorize"
FORM_PAGE_PATHS = frozenset({"/authorize/platform", "/authorize/continue", "/authorize/cancel"})
HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "invalid_request"}


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def wants_page(request: Request) -> bool:
    path = request.url.path
    return path == PAGE_PATH or (path in FORM_PAGE_PATHS and not wants_json(request))


def render_error(request: Request, error: BridgeError) -> Response:
    if error.redirect_to is not None:
        return RedirectResponse(error.redirect_to, status_code=error.status_code)
    if wants_page(request):
        page = error_page(request, error.status_code, error.title, error.description)
        page.headers.update(error.headers)  # Retry-After, say: the page answers like the JSON
        return page
    return JSONResponse(
        error.as_json(), status_code=error.status_code, headers={**NO_STORE, **error.headers}
    )


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return render_page(
        request,
        "error.html",
        {"title": title, "message": message, "status_code": status_code},
        status_code=status_code,
    )


async def bridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BridgeError)
    return render_error(request, exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = BridgeError(
        exc.status_code,
        HTTP_ERRORS.get(exc.status_code, "invalid_request"),
        exc.detail,
        headers=exc.headers,
    )
    return JSONResponse(error.as_json(), status_code=error.status_code, headers=error.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {
            "error": "server_error",
            "error_description": "The bridge failed; the error has been logged.",
        },
        status_code=500,
    )
