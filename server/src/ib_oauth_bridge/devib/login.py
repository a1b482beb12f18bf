"""IB's browser-login API (IB-API.md section 1): login token, login page, and the info poll.

These routes answer only on the platform host; the host router in `hosts.py` enforces that.
"""

from __future__ import annotations

from html import escape

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .responses import state_of
from .state import LoginToken

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
main { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.3rem; margin-top: 0; }
label { display: block; margin: 1rem 0 .3rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem;
       border: 1px solid #8a93a5; border-radius: 4px; font-size: 1rem; }
.actions { display: flex; gap: .5rem; margin-top: 1.5rem; }
button { padding: .55rem 1.1rem; font-size: 1rem; border-radius: 4px; border: 1px solid #1d4ed8;
         background: #1d4ed8; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1d4ed8; }
.error { color: #a11; background: #fde8e8; padding: .5rem; border-radius: 4px; }
"""

# IB's page refuses to be framed (IB-API.md 1.2); clients must open it in a popup or tab.
_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _form_page(token: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<h1>Sign in to IntelligenceBank</h1>{error_html}
<form method="post" action="/auth/login">
<input type="hidden" name="token" value="{escape(token)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</div></form>"""
    return _page("Sign in to IntelligenceBank", body, status)


def _expired_page() -> HTMLResponse:
    return _page(
        "Sign-in link expired",
        "<h1>This sign-in link has expired</h1><p>The link has expired or was already used. "
        "Go back to the application and start again.</p>",
        status=400,
    )


def _bad_request_page(message: str) -> HTMLResponse:
    return _page("Bad request", f"<h1>Bad request</h1><p>{escape(message)}</p>", status=400)


def _pending_token(request: Request, value: str) -> LoginToken | None:
    token = state_of(request).live_token(value)
    if token is None or token.session is not None:
        return None
    return token


async def create_token(request: Request) -> Response:
    token = state_of(request).new_login_token()
    return JSONResponse({"SID": token.app_sid, "content": token.token})


async def login_page(request: Request) -> Response:
    value = request.query_params.get("token", "")
    if not value or _pending_token(request, value) is None:
        return _expired_page()
    return _form_page(value)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def submit_login(request: Request) -> Response:
    try:
        form = await request.form()
    except Exception:
        # Any body the form parser rejects (bad multipart, wrong type) is the client's fault.
        return _bad_request_page("The form could not be read.")
    token_value = _field(form, "token")
    action = _field(form, "action") or "login"
    if not token_value or action not in ("login", "cancel"):
        return _bad_request_page("The form is incomplete.")
    state = state_of(request)
    if _pending_token(request, token_value) is None:
        return _expired_page()
    if action == "cancel":
        # IB shows the app nothing for a cancelled login: the poll stays 404 until it gives up.
        state.discard_token(token_value)
        return _page(
            "Sign-in cancelled",
            "<h1>Sign-in cancelled</h1><p>Sign-in cancelled. You can close this window.</p>",
        )
    username, password = _field(form, "username"), _field(form, "password")
    if username is None or password is None:
        return _bad_request_page("The form is incomplete.")
    user = state.config.find_user(username)
    if user is None or not user.password or user.password != password:
        return _form_page(token_value, "Wrong username or password", status=401)
    token = state.live_token(token_value)
    assert token is not None  # checked above, and nothing awaited since
    token.session = state.new_session(user)
    return _page(
        "Signed in",
        "<h1>Signed in</h1><p>You are signed in. You can close this window.</p>"
        "<script>window.close()</script>",
    )


async def login_info(request: Request) -> Response:
    state = state_of(request)
    token = state.live_token(request.query_params.get("token", ""))
    if token is None or token.session is None:
        return JSONResponse({"message": "No completed login for this token"}, status_code=404)
    session, user, config = token.session, token.session.user, state.config
    info: dict[str, object] = {
        "clientid": session.client_id,
        "apiV3url": config.api_v3_url,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "useruuid": user.useruuid,
        user.email_key: user.email,
        "clientname": config.client_name,
        "logintimeoutperiod": session.timeout_hours,
    }
    return JSONResponse(
        {
            "SID": token.app_sid,
            "content": {
                "session": {
                    "sid": session.sid,
                    "userUuid": user.useruuid,
                    "loginTime": session.login_time,
                },
                "info": info,
            },
        }
    )


routes = [
    Route("/v1/auth/app/token", create_token, methods=["POST"]),
    Route("/auth/", login_page, methods=["GET"]),
    Route("/auth/login", submit_login, methods=["POST"]),
    Route("/v1/auth/app/info", login_info, methods=["GET"]),
]
