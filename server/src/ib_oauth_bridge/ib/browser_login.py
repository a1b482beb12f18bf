"""IB's browser-login API (IB-API.md section 1): get a login token, build IB's login page URL,
poll for the result. Parsing is defensive where IB's answers are unverified: `SID` or `sid`,
`email` or `adminemail`, `logintimeoutperiod` in `info` or at the top level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from ..outbound import AddressRefused

DEFAULT_SESSION_HOURS = 24
MIN_SESSION_HOURS, MAX_SESSION_HOURS = 1, 120


class IBError(Exception):
    """IB could not be used. `timeout` tells a slow IB (504) from a broken one (502)."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class IBLogin:
    """What IB's info call reports once the user has signed in."""

    sid: str
    api_v3_url: str
    ib_client_id: str
    user_uuid: str
    first_name: str
    last_name: str
    email: str
    client_name: str
    login_time: float
    session_hours: int

    def __repr__(self) -> str:  # the sid must never reach a log line through a repr
        return f"IBLogin(user_uuid={self.user_uuid!r}, ib_client_id={self.ib_client_id!r})"

    @property
    def session_expires_at(self) -> float:
        return self.login_time + self.session_hours * 3600

    def claims(self) -> dict[str, str]:
        """OIDC-style userinfo claims, plus the IB coordinates a client needs for API paths."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        claims = {
            "sub": self.user_uuid,
            "name": name,
            "given_name": self.first_name,
            "family_name": self.last_name,
            "email": self.email,
            "ib_client_id": self.ib_client_id,
            "ib_client_name": self.client_name,
            "ib_api_url": self.api_v3_url,
        }
        return {key: value for key, value in claims.items() if value}


def login_page_url(platform_url: str, login_token: str) -> str:
    return f"{platform_url}/auth/?{urlencode({'login': '0', 'token': login_token})}"


class BrowserLoginClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def start(self, platform_url: str) -> str:
        """Ask IB for a one-time login token."""
        data = await self._json("POST", f"{platform_url}/v1/auth/app/token", expect=(200,))
        token = data.get("content") if data else None
        if not isinstance(token, str) or not token:
            raise IBError("IntelligenceBank answered without a login token.")
        return token

    async def poll(self, platform_url: str, login_token: str) -> IBLogin | None:
        """None while the user has not finished (IB answers 404), the login once done."""
        url = f"{platform_url}/v1/auth/app/info"
        data = await self._json("GET", url, params={"token": login_token}, expect=(200, 404))
        if data is None:
            return None
        return parse_login(data)

    async def _json(
        self,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...],
        params: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        try:
            response = await self._http.request(method, url, params=params)
        except httpx.TimeoutException:
            raise IBError("IntelligenceBank did not answer in time.", timeout=True) from None
        except httpx.HTTPError:
            raise IBError("IntelligenceBank could not be reached.") from None
        except AddressRefused as refused:
            # The pinned transport's own lookup (a name can resolve differently than it did
            # when the platform URL was checked: DNS rebinding).
            reason = "it does not resolve" if refused.not_found else "it resolves internally"
            raise IBError(f"IntelligenceBank could not be reached ({reason}).") from None
        if response.status_code == 404 and 404 in expect:
            return None
        if response.status_code not in expect:
            raise IBError(f"IntelligenceBank answered with status {response.status_code}.")
        try:
            data = response.json()
        except ValueError:
            raise IBError("IntelligenceBank answered with something that is not JSON.") from None
        if not isinstance(data, dict):
            raise IBError("IntelligenceBank answered with an unexpected document.")
        return data


def parse_login(data: dict[str, Any]) -> IBLogin:
    content = _dict(data.get("content"))
    session, info = _dict(content.get("session")), _dict(content.get("info"))
    sid = _text(session.get("sid")) or _text(session.get("SID"))
    api_v3_url = _text(info.get("apiV3url"))
    ib_client_id = _text(info.get("clientid"))
    if not sid or not api_v3_url or not ib_client_id:
        raise IBError("IntelligenceBank's sign-in answer is missing the session or API address.")
    hours_raw = info.get("logintimeoutperiod", data.get("logintimeoutperiod"))
    try:
        hours = int(hours_raw) if hours_raw is not None else DEFAULT_SESSION_HOURS
    except (TypeError, ValueError):
        hours = DEFAULT_SESSION_HOURS
    login_time_raw = session.get("loginTime")
    login_time = float(login_time_raw) if isinstance(login_time_raw, int | float) else time.time()
    return IBLogin(
        sid=sid,
        api_v3_url=api_v3_url.rstrip("/"),
        ib_client_id=ib_client_id,
        user_uuid=_text(session.get("userUuid")) or _text(info.get("useruuid")),
        first_name=_text(info.get("firstname")),
        last_name=_text(info.get("lastname")),
        email=_text(info.get("email")) or _text(info.get("adminemail")),
        client_name=_text(info.get("clientname")),
        # A login time in the future would stretch the session; never trust more than now.
        login_time=min(login_time, time.time()),
        session_hours=min(max(hours, MIN_SESSION_HOURS), MAX_SESSION_HOURS),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
