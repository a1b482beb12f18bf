"""The admin page (`/admin`): live grants with a Revoke button, clients, recent audit events.

Off (404) unless IB_BRIDGE_ADMINS names operators. The page is an OpenID Connect relying party
of the bridge itself (public client `ib-bridge-admin`, PKCE S256, state, nonce): an operator
signs in on the normal sign-in page, /admin/callback exchanges the code through the bridge's own
/token in-process, checks the id_token (signature, iss, aud, nonce, exp), and lets in only an IB
user id or email listed in IB_BRIDGE_ADMINS. The grant that sign-in created is ended at once:
the page needs the operator's identity, not IB access. Revoking is a POST with a CSRF token
bound to the admin session and a same-origin check, audited `grant.ended` (reason `admin`,
`actor` the operator).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..audit import Event, Outcome
from ..audit.events import iso_time
from ..bridge import Bridge, bridge_of
from ..errors import BridgeError
from ..oauth.tokens import InvalidAccessToken
from ..web.admin_session import ADMIN_CLIENT_ID, AdminSession, PendingSignIn
from ..web.templates import render_page
from .authorize import _same_origin
from .errors import error_page, render_error, wants_json
from .forms import read_form

SCOPE = "openid profile email"


def _enabled(request: Request) -> Bridge:
    bridge = bridge_of(request)
    if not bridge.settings.admins:
        raise BridgeError(404, "not_found", "Not found.")
    return bridge


def _forbidden(request: Request, message: str, title: str = "This request can't go on") -> Response:
    """403, as a page for a browser (the admin page is browsed, not called), JSON if asked."""
    error = BridgeError(403, "access_denied", message, title=title)
    if wants_json(request):
        return render_error(request, error)
    return error_page(request, 403, title, message)


def _callback_uri(bridge: Bridge) -> str:
    return f"{bridge.settings.issuer}/admin/callback"


def _is_admin(bridge: Bridge, user_id: str, email: str | None) -> bool:
    admins = {entry.casefold() for entry in bridge.settings.admins}
    return user_id.casefold() in admins or (email is not None and email.casefold() in admins)


async def admin_page(request: Request) -> Response:
    bridge = _enabled(request)
    now = bridge.clock()
    session = bridge.admin_cookies.read_session(request, now)
    if session is None or not _is_admin(bridge, session.user_id, session.email):
        return _start_sign_in(bridge)
    grants = await bridge.store.list_grants(limit=500)
    registered = await bridge.store.list_clients()
    return render_page(
        request,
        "admin.html",
        {
            "admin": session,
            "csrf_token": bridge.admin_cookies.csrf_token(session),
            "grants": [
                {
                    "grant_id": g.grant_id,
                    "user": g.user_email or g.user_id or "(unknown)",
                    "user_id": g.user_id or "",
                    "client_id": g.client_id,
                    "created": iso_time(g.created_at),
                    "last_used": iso_time(g.last_used_at),
                    "refresh_count": g.refresh_count,
                    "session_end": iso_time(g.session_expires_at),
                }
                for g in grants
            ],
            "clients": [
                {"client_id": c.client_id, "name": c.name or "", "kind": "configured"}
                for c in bridge.settings.clients
            ]
            + [
                {"client_id": c.client_id, "name": c.client_name or "", "kind": "registered"}
                for c in registered
            ],
            "events": [
                {
                    "time": iso_time(e.time),
                    "event": e.event.value,
                    "outcome": e.outcome.value,
                    "client_id": e.client_id or "",
                    "user": e.ib_user_id or "",
                    "grant_id": e.grant_id or "",
                    "reason": e.reason or "",
                    "actor": e.actor or "",
                }
                for e in reversed(bridge.audit.recent)
            ],
            "revoked": request.query_params.get("revoked") == "1",
        },
    )


def _start_sign_in(bridge: Bridge) -> Response:
    pending = PendingSignIn(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
    )
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(pending.verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": ADMIN_CLIENT_ID,
            "redirect_uri": _callback_uri(bridge),
            "scope": SCOPE,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"/authorize?{query}", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    bridge.admin_cookies.set_pending(response, pending, bridge.clock())
    return response


async def admin_callback(request: Request) -> Response:
    bridge = _enabled(request)
    pending = bridge.admin_cookies.read_pending(request, bridge.clock())
    state = request.query_params.get("state")
    code = request.query_params.get("code")
    if pending is None or not state or not secrets.compare_digest(state, pending.state):
        # An old, foreign or replayed callback: start again rather than explain.
        return _start_sign_in(bridge)
    if not code or request.query_params.get("iss") != bridge.settings.issuer:
        return _forbidden(request, "The sign-in did not finish. Open the admin page again.")
    tokens = await _exchange(request, bridge, code, pending.verifier)
    if tokens is None:
        return _forbidden(request, "The sign-in could not be completed. Open the admin page again.")
    identity = _verified_identity(bridge, tokens.get("id_token"), pending.nonce)
    if identity is None:
        return _forbidden(request, "The sign-in could not be verified.")
    user_id, email = identity
    await _end_own_grant(bridge, tokens.get("access_token"))
    if not _is_admin(bridge, user_id, email):
        bridge.audit.emit(Event.ADMIN_REFUSED, Outcome.REFUSED, ib_user_id=user_id)
        return _forbidden(
            request,
            "You are not an administrator of this bridge. Ask its operator to add your "
            "IntelligenceBank user to IB_BRIDGE_ADMINS.",
            title="Not an administrator",
        )
    bridge.audit.emit(Event.ADMIN_SIGNED_IN, ib_user_id=user_id, actor=user_id)
    response = RedirectResponse("/admin", status_code=303)
    bridge.admin_cookies.clear_pending(response)
    bridge.admin_cookies.set_session(
        response, AdminSession(user_id, email, secrets.token_urlsafe(24)), bridge.clock()
    )
    return response


async def _exchange(
    request: Request, bridge: Bridge, code: str, verifier: str
) -> dict[str, Any] | None:
    """The code at the bridge's own /token, in-process (no network, same checks as anyone's)."""
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=bridge.settings.issuer) as http:
        answer = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": _callback_uri(bridge),
                "client_id": ADMIN_CLIENT_ID,
                "code_verifier": verifier,
            },
        )
    body = (
        answer.json()
        if answer.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if answer.status_code != 200 or not isinstance(body, dict):
        return None
    return body


def _verified_identity(
    bridge: Bridge, id_token: object, nonce: str
) -> tuple[str, str | None] | None:
    if not isinstance(id_token, str):
        return None
    try:
        decoded = jwt.decode(id_token, bridge.keys.verification_set, algorithms=["ES256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = decoded.claims
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    expires = claims.get("exp")
    subject = claims.get("sub")
    email = claims.get("email")
    if (
        claims.get("iss") != bridge.settings.issuer
        or ADMIN_CLIENT_ID not in audiences
        or not isinstance(claims.get("nonce"), str)
        or not secrets.compare_digest(str(claims["nonce"]), nonce)
        or not isinstance(expires, (int, float))
        or expires <= bridge.clock()
        or not isinstance(subject, str)
        or not subject
    ):
        return None
    return subject, email if isinstance(email, str) else None


async def _end_own_grant(bridge: Bridge, access_token: object) -> None:
    """The admin sign-in's grant holds an IB session the page never uses: end it now."""
    if not isinstance(access_token, str):
        return
    try:
        claims = bridge.oauth.userinfo_verifier.verify(access_token)
    except InvalidAccessToken:
        return
    if claims.grant_id:
        await bridge.oauth.end_grant(claims.grant_id, "admin sign-in")


async def admin_revoke(request: Request) -> Response:
    bridge = _enabled(request)
    session = bridge.admin_cookies.read_session(request, bridge.clock())
    if session is None or not _is_admin(bridge, session.user_id, session.email):
        return _forbidden(request, "Your admin session has ended. Sign in again.")
    if not _same_origin(request, bridge.settings.issuer):
        return _forbidden(request, "The request came from another site.")
    form = await read_form(request, bridge.settings.max_form_bytes)
    if not bridge.admin_cookies.check_csrf(session, form.get("csrf_token")):
        return _forbidden(request, "The page is out of date. Reload it and try again.")
    grant_id = form.get("grant_id") or ""
    grant = await bridge.store.get_grant(grant_id) if 0 < len(grant_id) <= 128 else None
    if grant is not None:
        await bridge.store.revoke_grant(grant.grant_id)
        for listener in bridge.oauth.grant_listeners:
            listener(grant.grant_id)
        bridge.audit.emit(
            Event.GRANT_ENDED,
            Outcome.REVOKED,
            grant_id=grant.grant_id,
            client_id=grant.client_id,
            ib_user_id=str(grant.user.get("sub") or "") or None,
            reason="admin",
            actor=session.user_id,
        )
    return RedirectResponse("/admin?revoked=1", status_code=303)
