"""The audit log's vocabulary: one typed `AuditEvent` per security event.

Structurally hard to log a secret: an event has a fixed set of typed fields, none of them a
free-form mapping; every text field is cut to a short length, and a value shaped like a JWT (an
access or ID token) is replaced by `[redacted]` wherever it turns up. Callers pass ids (client,
grant, IB user), never a token, code, sid, secret or password; tests/inprocess/test_audit.py
runs a whole flow with the audit log to a file and looks for each secret in it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class Event(StrEnum):
    LOGIN_STARTED = "login.started"  # /authorize opened a login transaction
    LOGIN_COMPLETED = "login.completed"  # IB reported the login: a grant exists
    LOGIN_FAILED = "login.failed"  # IB unreachable at the start, or the login could not finish
    LOGIN_CANCELLED = "login.cancelled"  # the user cancelled on the login page
    LOGIN_EXPIRED = "login.expired"  # IB's login token ran out before the user signed in
    CODE_ISSUED = "code.issued"
    CODE_EXCHANGED = "code.exchanged"
    CODE_EXCHANGE_FAILED = "code.exchange_failed"  # invalid_grant: unknown code, PKCE, ...
    CODE_REUSE = "code.reuse"  # a used code presented again: its grant revoked
    TOKEN_REFRESHED = "token.refreshed"  # noqa: S105 - an event name
    TOKEN_REFRESH_REUSE = "token.refresh_reuse"  # noqa: S105 - a used refresh token
    TOKEN_REFRESH_GRACE = "token.refresh_grace"  # noqa: S105 - a retry in the grace
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - RFC 7009 revocation by the client
    TOKEN_EXCHANGED = "token.exchanged"  # noqa: S105 - RFC 8693
    GRANT_ENDED = "grant.ended"  # any other end of a grant (IB 401, idle, limit, fraud rule)
    CLIENT_REGISTERED = "client.registered"  # RFC 7591
    CLIENT_DELETED = "client.deleted"  # an operator deleted a registration (admin CLI)
    PROXY_TARGET_REFUSED = "proxy.target_refused"  # a host not the session's own
    RATE_LIMITED = "rate.limited"  # any 429
    KEY_ROTATED = "key.rotated"
    ADMIN_SIGNED_IN = "admin.signed_in"  # an operator signed in to the admin page
    ADMIN_REFUSED = "admin.refused"  # someone not in IB_BRIDGE_ADMINS signed in to /admin
    FRAUD_REFRESH_REUSE = "fraud.refresh_reuse"
    FRAUD_EXCHANGE_BLOCKED = "fraud.exchange_failures_blocked"
    FRAUD_GRANT_MANY_ADDRESSES = "fraud.grant_many_addresses"
    FRAUD_MANY_USERS_ONE_ADDRESS = "fraud.many_users_one_address"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # the request was refused or did not work
    REFUSED = "refused"  # a policy said no before any work (a host, a limit, a block)
    REVOKED = "revoked"  # a grant was ended
    ALERT = "alert"  # a fraud rule fired; see the event's other fields for what it did


# Text fields are ids, reasons and names: short. A value longer than this is cut.
MAX_TEXT = 256
# A compact JWS/JWT (access token, ID token): never logged, wherever it turns up.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# Reasons are codes from the bridge's own source ("pkce", "idle_timeout"), never caller text.
_REASON = re.compile(r"[a-z0-9_]{1,64}")
REDACTED = "[redacted]"


def safe_text(value: str | None) -> str | None:
    if value is None:
        return None
    cut = value[:MAX_TEXT]
    return REDACTED if _JWT.search(cut) else cut


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit log. `time`, `request_id`, `ip` and `user_agent` come from the
    request being served (`audit.context`) unless given."""

    event: Event
    outcome: Outcome
    time: float
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    client_id: str | None = None
    client_authenticated: bool | None = None  # the client proved itself with a secret
    ib_user_id: str | None = None
    grant_id: str | None = None  # the bridge's internal id of a sign-in: not a credential
    reason: str | None = None  # a short code, see _REASON
    count: int | None = None  # what a fraud rule counted
    window: int | None = None  # ... over this many seconds
    retry_after: int | None = None  # a block's or limit's remaining seconds
    revoked: bool | None = None  # whether a fraud rule ended the grant
    key_id: str | None = None  # key.rotated: the new key's id (public)
    previous_key_id: str | None = None  # key.rotated: the id of the key it replaced
    actor: str | None = None  # the admin page: the IB user id of the operator who acted

    def __post_init__(self) -> None:
        for name in (
            "request_id",
            "ip",
            "user_agent",
            "client_id",
            "ib_user_id",
            "grant_id",
            "actor",
        ):
            object.__setattr__(self, name, safe_text(getattr(self, name)))
        object.__setattr__(self, "key_id", safe_text(self.key_id))
        object.__setattr__(self, "previous_key_id", safe_text(self.previous_key_id))
        if self.reason is not None and not _REASON.fullmatch(self.reason):
            object.__setattr__(self, "reason", "other")

    def as_json(self) -> str:
        entry = {key: value for key, value in asdict(self).items() if value is not None}
        entry["time"] = iso_time(self.time)
        entry["event"] = self.event.value
        entry["outcome"] = self.outcome.value
        return json.dumps(entry, separators=(",", ":"))


FIELDS = tuple(field.name for field in fields(AuditEvent))


def iso_time(seconds: float) -> str:
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
