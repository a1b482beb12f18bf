"""In-memory state of the IB emulator: login tokens, sessions, resources, uploads, faults, log.

Everything runs on one event loop and no method awaits, so each method is atomic without locks.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from .config import DemoUser, EmulatorConfig
from .data import seed_resources

REQUEST_LOG_SIZE = 50


@dataclass
class LoginToken:
    token: str
    expires_at: float
    # IB's answers carry a top-level "SID" of their own, unrelated to the session sid.
    app_sid: str = field(default_factory=lambda: secrets.token_hex(16))
    # Set once the user has signed in on the login page.
    session: Session | None = None


@dataclass
class Session:
    # Kept out of repr so that a stray log or traceback never prints a session id.
    sid: str = field(repr=False)
    user: DemoUser
    client_id: str
    login_time: int
    timeout_hours: int
    revoked: bool = False

    def alive(self, now: float) -> bool:
        return not self.revoked and now < self.login_time + self.timeout_hours * 3600


@dataclass(frozen=True)
class Upload:
    size: int
    sha256: str
    target: str
    content_type: str

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "sha256": self.sha256,
            "target": self.target,
            "contentType": self.content_type,
        }


@dataclass
class Failure:
    status: int
    times: int
    path_contains: str


@dataclass(frozen=True)
class RequestRecord:
    method: str
    raw_path: str
    query_string: str
    headers: list[tuple[str, str]]
    sid_present: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "raw_path": self.raw_path,
            "query_string": self.query_string,
            "headers": [[k, v] for k, v in self.headers],
            "sid_present": self.sid_present,
        }


@dataclass
class EmulatorState:
    initial_config: EmulatorConfig
    config: EmulatorConfig = field(init=False)
    tokens: dict[str, LoginToken] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict, repr=False)
    resources: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # A copy, so that live changes through /_emulator/config never touch the caller's object.
        self.config = replace(self.initial_config, users=list(self.initial_config.users))
        self.tokens.clear()
        self.sessions.clear()
        self.resources = seed_resources()
        self.uploads.clear()
        self.failures.clear()
        self.requests.clear()

    # --- login tokens -------------------------------------------------------------------

    def new_login_token(self) -> LoginToken:
        self._purge_tokens()
        token = LoginToken(
            token=secrets.token_urlsafe(32),
            expires_at=time.monotonic() + self.config.login_token_ttl,
        )
        self.tokens[token.token] = token
        return token

    def live_token(self, value: str) -> LoginToken | None:
        token = self.tokens.get(value)
        if token is None or time.monotonic() >= token.expires_at:
            return None
        return token

    def discard_token(self, value: str) -> None:
        self.tokens.pop(value, None)

    def _purge_tokens(self) -> None:
        now = time.monotonic()
        for value in [v for v, t in self.tokens.items() if now >= t.expires_at]:
            del self.tokens[value]

    # --- sessions -----------------------------------------------------------------------

    def new_session(self, user: DemoUser) -> Session:
        session = Session(
            sid=secrets.token_hex(24),
            user=user,
            client_id=self.config.ib_client_id,
            login_time=int(time.time()),
            timeout_hours=self.config.login_timeout_hours,
        )
        self.sessions[session.sid] = session
        return session

    def live_session(self, sid: str) -> Session | None:
        session = self.sessions.get(sid)
        if session is None or not session.alive(time.time()):
            return None
        return session

    def expire_sessions(self, username: str | None) -> int:
        count = 0
        for session in self.sessions.values():
            if session.revoked:
                continue
            if username is None or session.user.username == username:
                session.revoked = True
                count += 1
        return count

    # --- faults -------------------------------------------------------------------------

    def take_failure(self, path: str) -> Failure | None:
        """Consume one injected failure matching `path`, if any is armed."""
        for failure in self.failures:
            if failure.times > 0 and failure.path_contains in path:
                failure.times -= 1
                if failure.times == 0:
                    self.failures.remove(failure)
                return failure
        return None
