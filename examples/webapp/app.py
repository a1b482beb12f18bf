#!/usr/bin/env python3
"""A web app whose users sign in with IntelligenceBank through the IB OAuth Bridge.

It is a *confidential* OAuth client: the authorization code comes back to this server (PKCE and
`state` bound to the browser's session), is exchanged with the client secret (HTTP Basic), and
the tokens stay on the server. The browser only ever holds a signed cookie with a random session
id. Signing out revokes the grant at the bridge (RFC 7009).

    WEBAPP_CLIENT_SECRET=... WEBAPP_SESSION_SECRET=... python examples/webapp/app.py --port 8002
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import uvicorn
from ib_oauth_bridge_client import (
    BridgeAuth,
    BridgeError,
    BridgeMetadata,
    OAuthError,
    SignInRequired,
    TokenHolder,
    Tokens,
    discover,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

log = logging.getLogger("webapp")

# This app only reads, and shows who is signed in: `profile` and `email` release the name and
# e-mail at /userinfo.
SCOPE = "ib.read profile email"
SIGN_IN_TTL = 600.0  # seconds a started sign-in may take
SESSION_COOKIE = "ib_webapp_session"  # distinct from the bridge's cookies on the same host


@dataclass(frozen=True)
class Settings:
    bridge_url: str
    client_id: str
    client_secret: str
    session_secret: str
    base_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str], default_base_url: str) -> Settings:
        missing = [
            name
            for name in ("WEBAPP_CLIENT_SECRET", "WEBAPP_SESSION_SECRET")
            if not environ.get(name)
        ]
        if missing:
            raise SystemExit(f"Set {' and '.join(missing)} (see examples/webapp/README.md).")
        return cls(
            bridge_url=environ.get("WEBAPP_BRIDGE_URL", "http://127.0.0.1:8000").rstrip("/"),
            client_id=environ.get("WEBAPP_CLIENT_ID", "webapp"),
            client_secret=environ["WEBAPP_CLIENT_SECRET"],
            session_secret=environ["WEBAPP_SESSION_SECRET"],
            base_url=environ.get("WEBAPP_BASE_URL", default_base_url).rstrip("/"),
        )

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"


# -- server-side sessions ----------------------------------------------------------------------


@dataclass
class PendingSignIn:
    state: str
    code_verifier: str
    started: float = field(default_factory=time.monotonic)


@dataclass
class WebSession:
    """What the server keeps for one browser. The browser's cookie holds only its random id."""

    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    pending: PendingSignIn | None = None
    holder: TokenHolder | None = None


class Sessions:
    """Sessions by random id, in this process's memory. A real deployment would keep them in a
    database or Redis (and encrypt the tokens), so they survive restarts and span workers."""

    KEY = "session_id"

    def __init__(self) -> None:
        self._by_id: dict[str, WebSession] = {}

    def get(self, request: Request) -> WebSession | None:
        session_id = request.session.get(self.KEY)
        return self._by_id.get(session_id) if isinstance(session_id, str) else None

    def start(self, request: Request) -> WebSession:
        """A new session under a new id (replacing any current one: no session fixation)."""
        self.end(request)
        session_id = secrets.token_urlsafe(32)
        session = self._by_id[session_id] = WebSession()
        request.session[self.KEY] = session_id
        return session

    def end(self, request: Request) -> WebSession | None:
        session_id = request.session.pop(self.KEY, None)
        return self._by_id.pop(session_id, None) if isinstance(session_id, str) else None

    def values(self) -> list[WebSession]:
        return list(self._by_id.values())


# -- the app -----------------------------------------------------------------------------------


class WebApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions()
        self.http = httpx.AsyncClient(timeout=30)
        # RFC 6749 2.3.1: the client id and secret are form-urlencoded before Basic encoding.
        self.client_auth = httpx.BasicAuth(
            quote(settings.client_id, safe=""), quote(settings.client_secret, safe="")
        )
        self._metadata: BridgeMetadata | None = None

    async def metadata(self) -> BridgeMetadata:
        """The bridge's endpoints, discovered once (RFC 8414)."""
        if self._metadata is None:
            self._metadata = await run_in_threadpool(discover, self.settings.bridge_url)
        return self._metadata

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.http.aclose()

    async def home(self, request: Request) -> Response:
        session = self.sessions.get(request)
        if session is None or session.holder is None:
            return signed_out_page()
        try:
            user, resources = await self.user_and_resources(session.holder)
        except SignInRequired:
            self.sessions.end(request)
            return signed_out_page("Your IntelligenceBank session has ended. Please sign in again.")
        except (BridgeError, httpx.HTTPError) as exc:
            return error_page(502, f"IntelligenceBank could not be reached: {exc}")
        return signed_in_page(user, resources, session.csrf_token)

    async def login(self, request: Request) -> Response:
        try:
            metadata = await self.metadata()
        except BridgeError as exc:
            return error_page(502, f"The bridge could not be reached: {exc}")
        session = self.sessions.get(request) or self.sessions.start(request)
        pending = session.pending = PendingSignIn(
            state=secrets.token_urlsafe(24), code_verifier=secrets.token_urlsafe(48)
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.settings.redirect_uri,
                "scope": SCOPE,
                "state": pending.state,
                "code_challenge": s256(pending.code_verifier),
                "code_challenge_method": "S256",
            }
        )
        return RedirectResponse(f"{metadata.authorization_endpoint}?{query}", status_code=303)

    async def callback(self, request: Request) -> Response:
        params = request.query_params
        session = self.sessions.get(request)
        pending = session.pending if session else None
        if session is not None:
            session.pending = None  # a sign-in completes once
        if (
            pending is None
            or time.monotonic() - pending.started > SIGN_IN_TTL
            or not hmac.compare_digest(params.get("state", ""), pending.state)
        ):
            return error_page(400, "This sign-in is not valid (any more). Please start again.")
        metadata = await self.metadata()
        # RFC 9207: the bridge names itself in `iss`; anything else is a mix-up attack.
        if params.get("iss") != metadata.issuer:
            return error_page(400, "The sign-in answer comes from an unexpected server.")
        if "error" in params:
            if params["error"] == "access_denied":
                return signed_out_page("You cancelled the sign-in.")
            return error_page(
                400, f"The sign-in failed: {params.get('error_description') or params['error']}"
            )
        try:
            tokens = await self.exchange(metadata, params.get("code", ""), pending.code_verifier)
        except (BridgeError, httpx.HTTPError) as exc:
            return error_page(502, f"The bridge refused the sign-in: {exc}")
        signed_in = self.sessions.start(request)  # a fresh id once signed in
        signed_in.holder = TokenHolder(
            metadata,
            self.settings.client_id,
            tokens,
            client_secret=self.settings.client_secret,
            async_http=self.http,
        )
        return RedirectResponse("/", status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        session = self.sessions.get(request)
        if session is None:
            return RedirectResponse("/", status_code=303)  # nothing to sign out of
        token = form.get("csrf_token")
        if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf_token):
            return error_page(403, "The sign-out form has expired. Please go back and try again.")
        self.sessions.end(request)
        if session.holder is not None:
            await self.revoke(session.holder.tokens)
        return RedirectResponse("/", status_code=303)

    # -- talking to the bridge ---------------------------------------------------------------

    async def exchange(self, metadata: BridgeMetadata, code: str, verifier: str) -> Tokens:
        """The authorization code for tokens, authenticated with the client secret."""
        sent_at = time.time()
        response = await self.http.post(
            metadata.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "code_verifier": verifier,
            },
            auth=self.client_auth,
            headers={"Accept": "application/json"},
        )
        try:
            answer = response.json()
        except ValueError as exc:
            raise BridgeError(f"the token endpoint answered HTTP {response.status_code}") from exc
        if response.status_code != 200 or not isinstance(answer, dict):
            error = answer if isinstance(answer, dict) else {}
            raise OAuthError(
                str(error.get("error", "invalid_response")),
                error.get("error_description"),
                response.status_code,
            )
        return Tokens.from_response(answer, sent_at)

    async def revoke(self, tokens: Tokens) -> None:
        """RFC 7009: revoking the refresh token ends the whole grant at the bridge, so the
        access token stops working at once too."""
        metadata = await self.metadata()
        if metadata.revocation_endpoint is None or tokens.refresh_token is None:
            return
        try:
            response = await self.http.post(
                metadata.revocation_endpoint,
                data={"token": tokens.refresh_token, "token_type_hint": "refresh_token"},
                auth=self.client_auth,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:  # signed out here anyway; the grant ends with IB's session
            log.warning("revoking the refresh token failed: %s", exc)

    async def user_and_resources(
        self, holder: TokenHolder
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The user (`/userinfo`) and their ten newest resources, through the bridge's proxy.
        `BridgeAuth` sends the access token and refreshes it when it is about to expire."""
        metadata, auth = await self.metadata(), BridgeAuth(holder)
        user = await self.get_json(metadata.userinfo_endpoint, auth)
        api = f"{metadata.proxy_url}/api/3.0.0/{quote(str(user['ib_client_id']), safe='')}"
        listing = await self.get_json(f"{api}/resource.limit(0,10).order(lastUpdateTime:-1)", auth)
        return user, listing["response"]["rows"]

    async def get_json(self, url: str, auth: BridgeAuth) -> dict[str, Any]:
        response = await self.http.get(url, auth=auth, headers={"Accept": "application/json"})
        if response.status_code == 401:
            raise SignInRequired("the bridge no longer accepts this sign-in")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document


def s256(verifier: str) -> str:
    """The PKCE code challenge (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def create_app(settings: Settings) -> Starlette:
    webapp = WebApp(settings)
    app = Starlette(
        routes=[
            Route("/", webapp.home),
            Route("/login", webapp.login),
            Route("/callback", webapp.callback),
            Route("/logout", webapp.logout, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie=SESSION_COOKIE,
                same_site="lax",  # sent on the bridge's top-level redirect back to /callback
                https_only=settings.base_url.startswith("https://"),
            )
        ],
        lifespan=webapp.lifespan,
    )
    app.state.webapp = webapp
    return app


# -- pages -------------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 56rem; margin: 3rem auto; padding: 0 1rem;
       color: #1d2330; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .35rem .7rem; border-bottom: 1px solid #e3e6ec; }
td.size { text-align: right; font-variant-numeric: tabular-nums; }
.button { font: inherit; padding: .55rem 1.1rem; border: 0; border-radius: .4rem; cursor: pointer;
          background: #2452c7; color: white; text-decoration: none; display: inline-block; }
.quiet { background: #e3e6ec; color: inherit; }
.notice { background: #fff6d6; padding: .6rem .9rem; border-radius: .4rem; }
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def signed_out_page(notice: str = "") -> HTMLResponse:
    note = f'<p class="notice">{html.escape(notice)}</p>' if notice else ""
    return page(
        "IB example app",
        f"<h1>IB example app</h1>{note}"
        "<p>See your newest IntelligenceBank resources.</p>"
        '<p><a class="button" href="/login">Sign in with IntelligenceBank</a></p>',
    )


def signed_in_page(
    user: dict[str, Any], rows: list[dict[str, Any]], csrf_token: str
) -> HTMLResponse:
    e = html.escape
    who = f"{e(str(user.get('name') or user.get('sub')))} &lt;{e(str(user.get('email', '')))}&gt;"
    table = "".join(
        f"<tr><td>{e(str(row.get('name', '')))}</td><td>{e(str(row.get('folder', '')))}</td>"
        f"<td>{e(file_type(row))}</td><td class='size'>{e(file_size(row))}</td>"
        f"<td>{e(str(row.get('lastUpdateTime', ''))[:10])}</td></tr>"
        for row in rows
    )
    return page(
        "IB example app",
        f"<h1>IB example app</h1><p>Signed in as <strong>{who}</strong>"
        f" at {e(str(user.get('ib_client_name', '')))}</p>"
        "<h2>Newest resources</h2><table><thead><tr><th>Name</th><th>Folder</th><th>Type</th>"
        f"<th>Size</th><th>Updated</th></tr></thead><tbody>{table}</tbody></table>"
        '<form method="post" action="/logout">'
        f'<input type="hidden" name="csrf_token" value="{e(csrf_token)}">'
        '<button class="button quiet" type="submit">Sign out</button></form>',
    )


def error_page(status: int, message: str) -> HTMLResponse:
    return page(
        "Sign-in problem",
        f"<h1>Something went wrong</h1><p>{html.escape(message)}</p>"
        '<p><a class="button" href="/">Back</a></p>',
        status,
    )


def file_type(row: dict[str, Any]) -> str:
    file = row.get("file")
    return str(file.get("type", "")) if isinstance(file, dict) else "-"


def file_size(row: dict[str, Any]) -> str:
    file = row.get("file")
    size = file.get("size") if isinstance(file, dict) else None
    return f"{size / 1024**2:.1f} MiB" if isinstance(size, int) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description="The IB OAuth Bridge's example web app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    settings = Settings.from_env(os.environ, default_base_url=f"http://{args.host}:{args.port}")
    logging.basicConfig(format="%(levelname)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
