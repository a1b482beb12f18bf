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

from ..audit import Event, Outcome
from ..audit.context import current_request_id
from ..bridge import bridge_of
from ..errors import BridgeError
from ..store import StoreUnavailable
from ..web.templates import render_page
from .limits import FraudBlock

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
        page = error_page(
            request, error.status_code, error.title, error.description, error.restart_url
        )
        page.headers.update(error.headers)  # Retry-After, say: the page answers like the JSON
        return page
    return JSONResponse(
        error.as_json(), status_code=error.status_code, headers={**NO_STORE, **error.headers}
    )


def error_page(
    request: Request, status_code: int, title: str, message: str, restart_url: str | None = None
) -> Response:
    return render_page(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "status_code": status_code,
            "restart_url": restart_url,
        },
        status_code=status_code,
    )


async def bridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BridgeError)
    if exc.status_code == 429:
        _audit_rate_limited(request, exc)
    return render_error(request, exc)


# What a 429 limited, by path prefix: the audit reason (never the path itself).
RATE_LIMITED_REASONS = (
    ("/authorize/", "login"),
    ("/authorize", "authorize"),
    ("/token", "token"),
    ("/revoke", "token"),
    ("/introspect", "token"),
    ("/register", "registration"),
    ("/proxy/", "proxy"),
)


def _audit_rate_limited(request: Request, error: BridgeError) -> None:
    path = request.url.path
    reason = next((why for prefix, why in RATE_LIMITED_REASONS if path.startswith(prefix)), "other")
    retry_after = error.headers.get("Retry-After", "")
    bridge_of(request).audit.emit(
        Event.RATE_LIMITED,
        Outcome.REFUSED,
        reason="exchange_failures_block" if isinstance(error, FraudBlock) else reason,
        retry_after=int(retry_after) if retry_after.isdigit() else None,
    )


# A store failure (store.failures): 503 with Retry-After, never a 500. The OAuth endpoints say
# RFC 6749's `temporarily_unavailable`; the proxy, /userinfo and the rest `store_unavailable`.
STORE_RETRY_AFTER = "5"
OAUTH_PATHS = ("/authorize", "/token", "/revoke", "/introspect", "/register")


def store_unavailable_error(request: Request) -> BridgeError:
    oauth = request.url.path.startswith(OAUTH_PATHS)
    return BridgeError(
        503,
        "temporarily_unavailable" if oauth else "store_unavailable",
        "The bridge cannot reach its store just now. Try again in a few seconds.",
        title="Sign-in is briefly unavailable",
        headers={"Retry-After": STORE_RETRY_AFTER},
    )


async def store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    # The reason is fixed text (store.failures): never a key, a record or a password.
    log.warning(
        "store unavailable",
        extra={"path": request.url.path, "backend": exc.backend, "reason": exc.reason},
    )
    return render_error(request, store_unavailable_error(request))


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
    if isinstance(exc, StoreUnavailable):  # raised outside the routes (a middleware)
        return await store_unavailable(request, exc)
    log.exception("unhandled error", extra={"path": request.url.path})
    request_id = current_request_id()
    return JSONResponse(
        {
            "error": "server_error",
            "error_description": "The bridge failed; the error has been logged.",
        },
        status_code=500,
        headers={"X-Request-ID": request_id} if request_id else None,
    )
