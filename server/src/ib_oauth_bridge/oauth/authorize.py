"""The authorization endpoint (RFC 6749 4.1.1) and the login page's own endpoints.

`/authorize` validates the request through Authlib, opens a login transaction bound to this
browser, and renders the page. The page posts the platform URL, opens IB's login in a popup and
polls; once IB reports the login, the stored authorization request is replayed through Authlib
to issue the code, and the page navigates to `redirect_uri?code&state&iss`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..bridge import Bridge, bridge_of
from ..formdata import FormError, read_form
from ..ib.browser_login import IBError, IBLogin, login_page_url
from ..ib.platform import PlatformURLError
from ..store.base import Grant, LoginStatus, LoginTransaction, secret_hash
from ..web.templates import csp_source_for_redirect, render_page
from .clients import Client, is_loopback_url
from .requests import StarletteOAuth2Request
from .tokens import AuthorizedUser

log = logging.getLogger("ib_oauth_bridge.login")

MAX_QUERY_BYTES = 8 * 1024
PARAMETER_LIMITS = {"state": 1024, "code_challenge": 128}  # others: 2048, as the contract says
MESSAGES = {
    LoginStatus.NEW: "Enter your IntelligenceBank address to continue.",
    LoginStatus.PENDING: "Waiting for you to sign in to IntelligenceBank in the other window…",
    LoginStatus.DONE: "Signed in. Returning you to the app…",
    LoginStatus.EXPIRED: "The sign-in took too long and has expired. Start again.",
}
# One poll at a time per transaction in this process, so a login completes exactly once.
_completion_locks: dict[str, asyncio.Lock] = {}


# /authorize -----------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    bridge = bridge_of(request)
    if len(request.scope.get("query_string", b"")) > MAX_QUERY_BYTES:
        return error_page(request, 400, "Request too large", "The sign-in link is too long.")
    for name, value in request.query_params.multi_items():
        if len(value) > PARAMETER_LIMITS.get(name, 2048):
            return error_page(
                request,
                400,
                "This sign-in link is not valid",
                f"The parameter {name!r} is too long.",
            )
    oauth_request = _oauth_request(request, request.query_params)
    try:
        grant = bridge.oauth.get_consent_grant(oauth_request)
        _check_resource(bridge, oauth_request)
    except ValueError:
        # Authlib refuses to echo characters RFC 6749 forbids in error text (quotes,
        # backslashes, controls, non-ASCII); such a request is malformed, not redirectable.
        return error_page(
            request,
            400,
            "This sign-in link is not valid",
            "The sign-in link contains characters that are not allowed.",
        )
    except OAuth2Error as error:
        if error.redirect_uri:
            return _error_redirect(
                bridge,
                error.redirect_uri,
                error.error,
                error.get_error_description(),
                oauth_request.payload.state,
            )
        return error_page(
            request, 400, "This sign-in link is not valid", _client_error_message(error)
        )
    client: Client = oauth_request.client
    data = oauth_request.payload.data
    transaction_id = secrets.token_urlsafe(32)
    bridge.store.put_transaction(
        secret_hash(transaction_id),
        LoginTransaction(
            client_id=client.client_id,
            redirect_uri=grant.redirect_uri,
            state=data.get("state"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            scope=oauth_request.scope,
            resource=data.get("resource"),
            expires_at=time.time() + bridge.settings.login_ttl,
        ),
    )
    response = login_page(
        request,
        bridge,
        transaction_id,
        client,
        grant.redirect_uri,
        platform_url=data.get("platform_url", ""),
    )
    bridge.login_cookie.set(response, transaction_id)
    return response


def _oauth_request(request: Request, query: ImmutableMultiDict[str, str]) -> StarletteOAuth2Request:
    return StarletteOAuth2Request(request.method, str(request.url), request.headers, query)


def _check_resource(bridge: Bridge, oauth_request: StarletteOAuth2Request) -> None:
    """RFC 8707: a token may only be asked for a resource this bridge knows."""
    resources = oauth_request.payload.datalist.get("resource", [])
    if not resources:
        return
    error = None
    if len(resources) > 1:
        error = "Ask for one resource per authorization request."
    elif not resource_allowed(bridge, resources[0]):
        error = "The requested resource is not served by this authorization server."
    if error:
        raise _RedirectableError("invalid_target", error, oauth_request.payload.redirect_uri)


def resource_allowed(bridge: Bridge, resource: str) -> bool:
    settings = bridge.settings
    if resource in {settings.proxy_resource, *settings.allowed_resources}:
        return True
    return settings.dev_mode and is_loopback_url(resource)


class _RedirectableError(OAuth2Error):
    def __init__(self, error: str, description: str, redirect_uri: str) -> None:
        super().__init__(description=description, redirect_uri=redirect_uri)
        self.error = error


def _client_error_message(error: OAuth2Error) -> str:
    description = error.get_error_description() or error.error
    return (
        f"{description} The app that sent you here is not set up correctly, so you have not "
        "been sent back to it. Return to the app and try again, or contact its developer."
    )


def _error_redirect(
    bridge: Bridge,
    redirect_uri: str,
    error: str,
    description: str | None,
    state: str | None,
    status_code: int = 302,
) -> RedirectResponse:
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    if state:
        params.append(("state", state))
    params.append(("iss", bridge.settings.issuer))
    return RedirectResponse(add_params_to_uri(redirect_uri, params), status_code=status_code)


# The page ------------------------------------------------------------------------------------


def login_page(
    request: Request,
    bridge: Bridge,
    transaction_id: str,
    client: Client,
    redirect_uri: str,
    *,
    platform_url: str = "",
    message: str | None = None,
    message_kind: str = "info",
    login_url: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = bridge.settings
    dev_hint = None
    if settings.dev_mode and settings.dev_ib_urls:
        dev_hint = f"Dev mode: use {settings.dev_ib_urls[0]} and sign in as demo / demo."
        platform_url = platform_url or settings.dev_ib_urls[0]
    redirect = urlsplit(redirect_uri)
    return render_page(
        request,
        "login.html",
        {
            "client_name": client.display_name,
            "redirect_host": redirect.netloc,
            "platform_url": platform_url[:2048],
            "platform_pattern": " or ".join(
                ([settings.dev_ib_urls[0] + " (the emulator)"] if dev_hint else [])
                + list(settings.platform_hosts)
            ),
            "csrf_token": bridge.login_cookie.csrf_token(transaction_id),
            "urls": {
                "platform": "/authorize/platform",
                "status": "/authorize/status",
                "continue": "/authorize/continue",
                "cancel": "/authorize/cancel",
            },
            "message": message,
            "message_kind": message_kind,
            "login_url": login_url,
            "dev_hint": dev_hint,
        },
        status_code=status_code,
        form_action=csp_source_for_redirect(redirect_uri),
    )


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return render_page(
        request,
        "error.html",
        {"title": title, "message": message, "status_code": status_code},
        status_code=status_code,
    )


# The page's endpoints ------------------------------------------------------------------------


class LoginProblem(Exception):
    """A login-page request that cannot go on; answered as JSON or as a page."""

    def __init__(self, status_code: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.error = error
        self.description = description

    def respond(self, request: Request) -> Response:
        """JSON for the page's script; a page for a plain form post (no JavaScript)."""
        if _wants_json(request) or request.method == "GET":
            return self.json()
        return error_page(request, self.status_code, "This sign-in can't go on", self.description)

    def json(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status_code,
            headers={"Cache-Control": "no-store"},
        )


async def _transaction(
    request: Request, bridge: Bridge, *, form: Mapping[str, str] | None
) -> tuple[str, LoginTransaction]:
    transaction_id = bridge.login_cookie.read(request)
    if transaction_id is None:
        raise LoginProblem(
            403,
            "access_denied",
            "This browser has no sign-in in progress. Return to the app and "
            "start again (cookies must be enabled).",
        )
    if form is not None:
        if not _same_origin(request, bridge.settings.issuer):
            raise LoginProblem(403, "access_denied", "The request came from another site.")
        if not bridge.login_cookie.check_csrf(transaction_id, form.get("csrf_token")):
            raise LoginProblem(
                403, "access_denied", "The page is out of date. Reload it and try again."
            )
    transaction = bridge.store.get_transaction(secret_hash(transaction_id))
    if transaction is None:
        raise LoginProblem(
            410, "login_expired", "This sign-in has expired. Return to the app and start again."
        )
    return transaction_id, transaction


def _same_origin(request: Request, issuer: str) -> bool:
    if request.headers.get("sec-fetch-site") in {"cross-site", "same-site"}:
        return False
    origin = request.headers.get("origin")
    if origin == "null":
        # An opaque origin: trust it only when the browser itself vouches for the same origin.
        return request.headers.get("sec-fetch-site") == "same-origin"
    if origin is None:
        # Browsers send Origin on every POST; a missing one comes from a non-browser client,
        # which cannot hold the HttpOnly cookie of a victim anyway.
        return True
    issuer_parts = urlsplit(issuer)
    return origin == f"{issuer_parts.scheme}://{issuer_parts.netloc}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _read_login_form(request: Request, bridge: Bridge) -> ImmutableMultiDict[str, str]:
    try:
        return await read_form(request, bridge.settings.max_form_bytes)
    except FormError as exc:
        raise LoginProblem(exc.status_code, "invalid_request", exc.description) from None


async def login_submit_platform(request: Request) -> Response:
    bridge = bridge_of(request)
    try:
        form = await _read_login_form(request, bridge)
        transaction_id, transaction = await _transaction(request, bridge, form=form)
        client = bridge.oauth.clients.get(transaction.client_id)
        assert client is not None, "transactions are only opened for known clients"
        raw_url = form.get("platform_url", "")
        try:
            platform_url = bridge.host_policy.normalize(raw_url)
            await bridge.host_policy.check_resolves_publicly(platform_url)
        except PlatformURLError as exc:
            if not _wants_json(request):
                return login_page(
                    request,
                    bridge,
                    transaction_id,
                    client,
                    transaction.redirect_uri,
                    platform_url=raw_url,
                    message=str(exc),
                    message_kind="error",
                    status_code=400,
                )
            raise LoginProblem(400, "invalid_platform", str(exc)) from None
        try:
            login_token = await bridge.ib_login.start(platform_url)
        except IBError as exc:
            if exc.timeout:
                raise LoginProblem(504, "gateway_timeout", str(exc)) from None
            raise LoginProblem(502, "bad_gateway", str(exc)) from None
    except LoginProblem as problem:
        return problem.respond(request)
    transaction.platform_url = platform_url
    transaction.ib_login_token = bridge.seal(login_token, context=transaction_id)
    transaction.status = LoginStatus.PENDING
    transaction.started_at = time.time()
    transaction.error = None
    bridge.store.put_transaction(secret_hash(transaction_id), transaction)
    login_url = login_page_url(platform_url, login_token)
    if _wants_json(request):
        return JSONResponse(
            {
                "status": "pending",
                "login_url": login_url,
                "poll_after_ms": int(bridge.settings.ib_poll_interval * 1000),
            },
            headers={"Cache-Control": "no-store"},
        )
    return login_page(
        request,
        bridge,
        transaction_id,
        client,
        transaction.redirect_uri,
        platform_url=platform_url,
        login_url=login_url,
        message="Open the IntelligenceBank sign-in page, sign in, then continue.",
    )


async def login_status(request: Request) -> Response:
    bridge = bridge_of(request)
    try:
        transaction_id, transaction = await _transaction(request, bridge, form=None)
        transaction = await advance(bridge, transaction_id, transaction)
    except LoginProblem as problem:
        return problem.respond(request)
    body: dict[str, object] = {
        "status": transaction.status.value,
        "message": transaction.error or MESSAGES.get(transaction.status, ""),
    }
    if transaction.status is LoginStatus.DONE:
        body["redirect_to"] = bridge.unseal(transaction.redirect_to or "", context=transaction_id)
    elif transaction.status is LoginStatus.PENDING:
        body["poll_after_ms"] = int(bridge.settings.ib_poll_interval * 1000)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def login_continue(request: Request) -> Response:
    """The no-JS fallback: check the login once, then go back to the app or say why not."""
    bridge = bridge_of(request)
    try:
        form = await _read_login_form(request, bridge)
        transaction_id, transaction = await _transaction(request, bridge, form=form)
        transaction = await advance(bridge, transaction_id, transaction)
    except LoginProblem as problem:
        return problem.respond(request)
    if transaction.status is LoginStatus.DONE and transaction.redirect_to:
        redirect_to = bridge.unseal(transaction.redirect_to, context=transaction_id)
        response: Response = RedirectResponse(redirect_to, status_code=303)
        bridge.login_cookie.clear(response)
        return response
    client = bridge.oauth.clients.get(transaction.client_id)
    assert client is not None
    login_url = None
    if transaction.status is LoginStatus.PENDING and transaction.platform_url:
        login_token = bridge.unseal(transaction.ib_login_token or "", context=transaction_id)
        login_url = login_page_url(transaction.platform_url, login_token)
    return login_page(
        request,
        bridge,
        transaction_id,
        client,
        transaction.redirect_uri,
        platform_url=transaction.platform_url or "",
        login_url=login_url,
        message=transaction.error or MESSAGES.get(transaction.status, ""),
        message_kind="error"
        if transaction.status in {LoginStatus.FAILED, LoginStatus.EXPIRED}
        else "info",
    )


async def login_cancel(request: Request) -> Response:
    bridge = bridge_of(request)
    try:
        form = await _read_login_form(request, bridge)
        transaction_id, transaction = await _transaction(request, bridge, form=form)
    except LoginProblem as problem:
        return problem.respond(request)
    bridge.store.delete_transaction(secret_hash(transaction_id))
    response = _error_redirect(
        bridge,
        transaction.redirect_uri,
        "access_denied",
        "The user cancelled the sign-in.",
        transaction.state,
        status_code=303,
    )
    bridge.login_cookie.clear(response)
    return response


# Completing a login --------------------------------------------------------------------------


async def advance(
    bridge: Bridge, transaction_id: str, transaction: LoginTransaction
) -> LoginTransaction:
    """Ask IB about a pending login (at most once per poll interval) and complete it."""
    if transaction.status is not LoginStatus.PENDING:
        return transaction
    key = secret_hash(transaction_id)
    lock = _completion_locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            # Re-read: another request may have completed it while we waited.
            current = bridge.store.get_transaction(key) or transaction
            if current.status is not LoginStatus.PENDING:
                return current
            return await _poll_once(bridge, transaction_id, current)
    finally:
        if not lock.locked():
            _completion_locks.pop(key, None)


async def _poll_once(
    bridge: Bridge, transaction_id: str, transaction: LoginTransaction
) -> LoginTransaction:
    key = secret_hash(transaction_id)
    settings = bridge.settings
    now = time.time()
    if now - transaction.last_polled_at < settings.ib_poll_interval:
        return transaction
    if now - transaction.started_at > settings.ib_login_token_ttl:
        transaction.status = LoginStatus.EXPIRED
        bridge.store.put_transaction(key, transaction)
        return transaction
    assert transaction.platform_url
    assert transaction.ib_login_token
    transaction.last_polled_at = now
    login_token = bridge.unseal(transaction.ib_login_token, context=transaction_id)
    try:
        login = await bridge.ib_login.poll(transaction.platform_url, login_token)
    except IBError as exc:
        transaction.error = f"{exc} Still trying…"
        bridge.store.put_transaction(key, transaction)
        return transaction
    transaction.error = None
    if login is not None:
        try:
            location = complete_login(bridge, transaction, login)
            transaction.redirect_to = bridge.seal(location, context=transaction_id)
            transaction.status = LoginStatus.DONE
        except (PlatformURLError, OAuth2Error) as exc:
            transaction.status = LoginStatus.FAILED
            transaction.error = f"The sign-in could not be completed: {exc}"
            log.warning("login could not be completed", extra={"reason": type(exc).__name__})
    bridge.store.put_transaction(key, transaction)
    return transaction


def complete_login(bridge: Bridge, transaction: LoginTransaction, login: IBLogin) -> str:
    """Store the IB session as a grant and issue the code by replaying the stored authorization
    request through Authlib. Returns where the browser goes next."""
    assert transaction.platform_url
    api_v3_url = bridge.host_policy.check_api_url(login.api_v3_url)
    now = time.time()
    grant_id = secrets.token_urlsafe(18)
    grant = Grant(
        grant_id=grant_id,
        client_id=transaction.client_id,
        scope=transaction.scope,
        resource=transaction.resource,
        sid_ciphertext=bridge.cipher.encrypt(login.sid, grant_id=grant_id),
        platform_url=transaction.platform_url,
        api_v3_url=api_v3_url,
        ib_client_id=login.ib_client_id,
        user={
            **login.claims(),
            "ib_platform_url": transaction.platform_url,
            "ib_api_url": api_v3_url,
        },
        session_expires_at=login.session_expires_at,
        created_at=now,
        last_used_at=now,
    )
    bridge.store.put_grant(grant)
    query = ImmutableMultiDict(
        [
            ("response_type", "code"),
            ("client_id", transaction.client_id),
            ("redirect_uri", transaction.redirect_uri),
            ("scope", transaction.scope),
            ("code_challenge", transaction.code_challenge),
            ("code_challenge_method", transaction.code_challenge_method),
            *([("state", transaction.state)] if transaction.state else []),
            *([("resource", transaction.resource)] if transaction.resource else []),
        ]
    )
    oauth_request = StarletteOAuth2Request("GET", f"{bridge.settings.issuer}/authorize", {}, query)
    user = AuthorizedUser(grant)
    consent = bridge.oauth.get_consent_grant(oauth_request, end_user=user)
    response = bridge.oauth.create_authorization_response(
        oauth_request, grant_user=user, grant=consent
    )
    location = response.headers.get("location")
    if response.status_code != 302 or not location or "code=" not in location:
        raise OAuth2Error(description="the authorization request could not be replayed")
    log.info("login completed", extra={"client_id": transaction.client_id, "grant_id": grant_id})
    return str(location)
