"""The authorization endpoint (RFC 6749 4.1.1) and the login page's own endpoints, over HTTP.

The protocol lives in `oauth.login_flow`; this module reads requests, binds the transaction to
the browser (signed cookie, CSRF token, Origin check) and renders the page or JSON.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..bridge import Bridge, bridge_of
from ..errors import BridgeError
from ..ib.platform import PlatformURLError
from ..oauth.clients import Client, ClientKind, known_host_name
from ..oauth.login_flow import INVALID_LINK, SignedIn
from ..oauth.registration import clean_text
from ..store.records import LoginStatus, LoginTransaction, secret_hash
from ..strings import PAGE, SCRIPT_JSON
from ..web import platform_cookie
from ..web.templates import csp_source_for_redirect, render_page
from .errors import render_error, wants_json
from .forms import read_form
from .limits import address_hash, limit_address

MAX_QUERY_BYTES = 8 * 1024
PARAMETER_LIMITS = {"state": 1024, "code_challenge": 128}  # others: 2048, as the contract says
NO_STORE = {"Cache-Control": "no-store"}
# Clients whose name the page may state as fact: the bridge's own and the operator's. Every
# other kind (registered, and clients described by a metadata document) describes itself.
VERIFIED_KINDS = frozenset({ClientKind.WELL_KNOWN, ClientKind.CONFIGURED})
CLIENT_LABEL_LENGTH = 80
LOGIN_REQUESTS = "sign-in page requests"  # what the login endpoints' address limit counts


# /authorize -----------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    bridge = bridge_of(request)
    await limit_address(request, bridge.limits.authorize, "sign-in requests")
    if len(request.scope.get("query_string", b"")) > MAX_QUERY_BYTES:
        raise BridgeError(
            400, "invalid_request", "The sign-in link is too long.", title="Request too large"
        )
    for name, value in request.query_params.multi_items():
        if len(value) > PARAMETER_LIMITS.get(name, 2048):
            raise BridgeError(
                400, "invalid_request", f"The parameter {name!r} is too long.", title=INVALID_LINK
            )
    started = await bridge.login.start(
        request.query_params.multi_items(), address_hash=address_hash(request)
    )
    response = login_page(
        request,
        bridge,
        started.transaction_id,
        started.client,
        started.transaction,
        # The app's hint first, else the platform this browser last signed in at.
        platform_url=started.platform_url
        or platform_cookie.remembered(request, bridge.host_policy.normalize),
        restart=request.url.query,
    )
    bridge.login_cookie.set(response, started.transaction_id)
    return response


# The page ------------------------------------------------------------------------------------


def restart_query(raw: str) -> str:
    """The app's own authorization request (the query of the GET /authorize that opened the
    page), carried through the no-JS forms so that an expired sign-in can offer "Start again"
    as the JS path does: the very same request, so the app still accepts the answer. Only a
    query of /authorize that names a client is kept; anything else gives no link."""
    if not raw or len(raw) > MAX_QUERY_BYTES:
        return ""
    params = dict(parse_qsl(raw, keep_blank_values=True))
    if not params.get("client_id") or not params.get("response_type"):
        return ""
    return raw


def restart_url(raw: str) -> str | None:
    query = restart_query(raw)
    return f"/authorize?{query}" if query else None


def login_page(
    request: Request,
    bridge: Bridge,
    transaction_id: str,
    client: Client,
    transaction: LoginTransaction,
    *,
    platform_url: str = "",
    message: str | None = None,
    message_kind: str = "info",
    login_url: str | None = None,
    signed_in: SignedIn | None = None,
    status_code: int = 200,
    restart: str = "",
) -> Response:
    settings = bridge.settings
    dev_hint = None
    if settings.dev_mode and settings.dev_ib_urls:
        dev_hint = PAGE["dev_hint"].format(url=settings.dev_ib_urls[0])
        platform_url = platform_url or settings.dev_ib_urls[0]
    redirect_uri = transaction.redirect_uri
    label = client_label(client)
    verified = client.kind in VERIFIED_KINDS
    redirect_app = known_host_name(redirect_uri)
    return render_page(
        request,
        "login.html",
        {
            # The hook for naming the client: `client_label` is what the page calls it, and
            # `client_verified` says whether that name comes from the operator (or the bridge
            # itself) or only from the client's own description of itself.
            "client_label": label,
            "client_verified": verified,
            "redirect_host": return_target(redirect_uri),
            "redirect_app": redirect_app,  # "Claude", "Cursor", ... or None
            # "Continue to ...": the name the operator vouches for, else the known app or the
            # host the browser returns to (never a name the client gave itself).
            "continue_to": (label if verified and label else None)
            or redirect_app
            or return_target(redirect_uri),
            # Once the login is done (no-JS path): who signed in, shown before returning.
            "signed_in": signed_in,
            "signed_in_as": signed_in_label(signed_in) if signed_in else None,
            "platform_url": platform_url[:2048],
            "platform_pattern": " or ".join(
                ([settings.dev_ib_urls[0] + " (the emulator)"] if dev_hint else [])
                + list(settings.platform_hosts)
            ),
            # For the page's "We'll sign you in at ..." preview (login.js): the domain a bare
            # tenant name belongs to, and the origins allowed as they are (dev: the emulator).
            "tenant_domain": bridge.host_policy.tenant_domain or "",
            "exact_origins": " ".join(bridge.host_policy.dev_urls),
            "script_strings": SCRIPT_JSON,
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
            # The no-JS path: the app's request, for "Start again" once the sign-in expired.
            "restart": restart_query(restart),
            "restart_url": restart_url(restart)
            if transaction.status is LoginStatus.EXPIRED
            else None,
        },
        status_code=status_code,
        form_action=csp_source_for_redirect(redirect_uri),
    )


def client_label(client: Client) -> str | None:
    """The client's name fit for the page (the template escapes it): control and formatting
    characters removed, at most CLIENT_LABEL_LENGTH characters; None when a self-described
    client gave no name."""
    if client.name:
        return clean_text(client.name, CLIENT_LABEL_LENGTH) or None
    return client.client_id if client.kind in VERIFIED_KINDS else None


def signed_in_label(signed_in: SignedIn) -> str:
    """Who IB says signed in, as the page names them (login.js builds the same words)."""
    if signed_in.name and signed_in.email:
        return f"{signed_in.name} ({signed_in.email})"
    return signed_in.name or signed_in.email or PAGE["no_name"]


def return_target(redirect_uri: str) -> str:
    """Where the browser goes back to, as the page names it: the host of a web redirect URI,
    the scheme (and authority) of a native app's private-use URI."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in {"http", "https"}:
        return parts.netloc
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


# The page's endpoints ------------------------------------------------------------------------


async def _transaction(
    request: Request,
    bridge: Bridge,
    *,
    form_csrf: str | None,
    check_form: bool,
    poll: bool = False,
) -> tuple[str, LoginTransaction]:
    """The browser's login transaction: bound by the signed cookie and, for form posts, by
    the CSRF token and the Origin. A `poll` (status check) counts against the transaction's
    polling rate before the store is read."""
    transaction_id = bridge.login_cookie.read(request)
    if transaction_id is None:
        raise BridgeError(
            403,
            "access_denied",
            "This browser has no sign-in in progress. Return to the app and "
            "start again (cookies must be enabled).",
        )
    if check_form:
        if not _same_origin(request, bridge.settings.issuer):
            raise BridgeError(403, "access_denied", "The request came from another site.")
        if not bridge.login_cookie.check_csrf(transaction_id, form_csrf):
            raise BridgeError(
                403, "access_denied", "The page is out of date. Reload it and try again."
            )
    if poll:
        await bridge.limits.login_poll.enforce(
            secret_hash(transaction_id), "status checks for this sign-in"
        )
    return transaction_id, await bridge.login.transaction(transaction_id)


async def _form_transaction(
    request: Request, bridge: Bridge, *, poll: bool = False
) -> tuple[dict[str, str], str, LoginTransaction]:
    await limit_address(request, bridge.limits.login, LOGIN_REQUESTS)
    form = await read_form(request, bridge.settings.max_form_bytes)
    try:
        transaction_id, transaction = await _transaction(
            request, bridge, form_csrf=form.get("csrf_token"), check_form=True, poll=poll
        )
    except BridgeError as exc:
        # The sign-in has ended (no-JS path): its record is gone (410), or its cookie, which
        # lives as long, is (403). Offer the app's own request again, to a same-origin form
        # post only (never to a post another site made).
        ended = exc.status_code == 410 or (
            exc.status_code == 403 and bridge.login_cookie.read(request) is None
        )
        if ended and exc.redirect_to is None and _same_origin(request, bridge.settings.issuer):
            exc.restart_url = restart_url(str(form.get("restart", "")))
        raise
    return dict(form), transaction_id, transaction


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


async def login_submit_platform(request: Request) -> Response:
    bridge = bridge_of(request)
    form, transaction_id, transaction = await _form_transaction(request, bridge)
    client = await bridge.login.client_of(transaction)
    raw_url = form.get("platform_url", "")
    try:
        pending = await bridge.login.submit_platform(transaction_id, raw_url)
    except PlatformURLError as exc:
        if wants_json(request):
            raise BridgeError(400, "invalid_platform", str(exc)) from None
        return login_page(
            request,
            bridge,
            transaction_id,
            client,
            transaction,
            platform_url=raw_url,
            message=str(exc),
            message_kind="error",
            status_code=400,
            restart=form.get("restart", ""),
        )
    login_url = bridge.login.login_url_of(transaction_id, pending)
    origin = pending.platform_url or ""
    response: Response
    if wants_json(request):
        response = JSONResponse(
            {
                "status": "pending",
                "login_url": login_url,
                "platform_url": origin,
                "poll_after_ms": int(bridge.settings.ib_poll_interval * 1000),
            },
            headers=NO_STORE,
        )
    else:
        response = login_page(
            request,
            bridge,
            transaction_id,
            client,
            pending,
            platform_url=origin,
            login_url=login_url,
            message=PAGE["sign_in_at"].format(origin=origin),
            restart=form.get("restart", ""),
        )
    platform_cookie.remember(response, origin, secure=bridge.settings.secure_cookies)
    return response


async def login_status(request: Request) -> Response:
    bridge = bridge_of(request)
    await limit_address(request, bridge.limits.login, LOGIN_REQUESTS)
    transaction_id, transaction = await _transaction(
        request, bridge, form_csrf=None, check_form=False, poll=True
    )
    transaction = await bridge.login.poll(transaction_id, transaction)
    body: dict[str, object] = {
        "status": transaction.status.value,
        "message": bridge.login.message_of(transaction),
    }
    signed_in = bridge.login.signed_in_of(transaction_id, transaction)
    if signed_in is not None:
        # `redirect_to` for scripted clients; the page shows `signed_in_as` and waits for the
        # person to choose Continue (a form post to /authorize/continue).
        body["redirect_to"] = signed_in.location
        body["signed_in_as"] = signed_in.identity()
    elif transaction.status is LoginStatus.PENDING:
        body["poll_after_ms"] = int(bridge.settings.ib_poll_interval * 1000)
    return JSONResponse(body, headers=NO_STORE)


async def login_continue(request: Request) -> Response:
    """Continue: with `confirm=1` on a finished login, the person has seen who signed in and
    goes back to the app (with a code still valid). Otherwise (the no-JS fallback) check the
    login once: when it is done, show who signed in with Continue and "Not you? Cancel";
    else say why not. A login is never returned to the app unseen."""
    bridge = bridge_of(request)
    form, transaction_id, transaction = await _form_transaction(request, bridge, poll=True)
    if form.get("confirm") == "1" and transaction.status is LoginStatus.DONE:
        response: Response = RedirectResponse(
            await bridge.login.confirm(transaction_id, transaction), status_code=303
        )
        bridge.login_cookie.clear(response)
        return response
    transaction = await bridge.login.poll(transaction_id, transaction)
    client = await bridge.login.client_of(transaction)
    signed_in = bridge.login.signed_in_of(transaction_id, transaction)
    if signed_in is not None:
        return login_page(
            request,
            bridge,
            transaction_id,
            client,
            transaction,
            signed_in=signed_in,
            message=bridge.login.message_of(transaction),
            message_kind="success",
            restart=form.get("restart", ""),
        )
    return login_page(
        request,
        bridge,
        transaction_id,
        client,
        transaction,
        platform_url=transaction.platform_url or "",
        login_url=bridge.login.login_url_of(transaction_id, transaction),
        message=bridge.login.message_of(transaction),
        message_kind="error"
        if transaction.status in {LoginStatus.FAILED, LoginStatus.EXPIRED}
        else "info",
        restart=form.get("restart", ""),
    )


async def login_cancel(request: Request) -> Response:
    bridge = bridge_of(request)
    _, transaction_id, transaction = await _form_transaction(request, bridge)
    response = render_error(request, await bridge.login.cancel(transaction_id, transaction))
    bridge.login_cookie.clear(response)
    return response
