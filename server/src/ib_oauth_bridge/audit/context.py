"""Who is asking, for the request being served: its request id, the client address and user
agent, held in a context variable so that every log line and audit event can name them without
threading them through every call.

Set by the HTTP layer's `RequestIds` middleware (`request_ids.py`) for each request. Authlib's
grants run in worker threads (`anyio.to_thread.run_sync`), which copy the context, and reach
the store back on the event loop through `anyio.from_thread.run`, which runs in that copied
context too (tests/inprocess/test_audit.py checks both). Outside a request (start-up, the
CLI, background purges) there is none.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

# What an incoming X-Request-ID may be to be kept: 1..128 characters, none that could break a
# log line or a header. Anything else is replaced by a fresh id.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
USER_AGENT_LENGTH = 256


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    ip: str | None = None
    user_agent: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("ib_bridge_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is one the bridge may repeat, else a fresh one."""
    if header is not None and REQUEST_ID.fullmatch(header):
        return header
    return new_request_id()


def clean_user_agent(value: str | None) -> str | None:
    """The user agent as the audit log keeps it: printable ASCII only, at most 256 characters."""
    if not value:
        return None
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in value[:USER_AGENT_LENGTH])
    return cleaned or None


def enter(context: RequestContext) -> object:
    """Make `context` the current request's; returns the token for `leave`."""
    return _current.set(context)


def leave(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
