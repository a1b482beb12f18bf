"""The audit log and the fraud rules over it.

`Audit` (built once by `Bridge`) writes one JSON line per security event (`events.Event`) to
the logger `ib_oauth_bridge.audit`, which has its own handler (`IB_BRIDGE_AUDIT_LOG`: stdout,
stderr, a file, or off) and does not propagate to the bridge's main log. Every event carries
the time, the request id, address and user agent of the request being served (`context`),
and, where known, the client, the IB user and the grant. After writing an event the fraud
rules (`fraud.FraudRules`) see it, and any alert they raise is written after it.

For code that runs outside a bridge (the key-rotation CLI): `emit_key_rotated(settings, ...)`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable

from ..clock import Clock, system_clock
from ..settings import Settings, SettingsError
from .context import current_request
from .events import AuditEvent, Event, Outcome
from .fraud import FraudRules, GrantVerdict, MemoryCounters, Thresholds

LOGGER = "ib_oauth_bridge.audit"
log = logging.getLogger(LOGGER)
_configure_lock = threading.Lock()
RECENT = 50  # audit events each worker keeps in memory for the admin page


class _LineFormatter(logging.Formatter):
    """The record's message is already the event's JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def configure_audit_log(destination: str) -> None:
    """Point the audit logger at `destination`: "stdout", "stderr", "off", or a file path
    (appended to). Replaces (and closes) any handler set before."""
    handler: logging.Handler
    if destination == "off":
        handler = logging.NullHandler()
    elif destination == "stdout":
        handler = logging.StreamHandler(sys.stdout)
    elif destination == "stderr":
        handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            handler = logging.FileHandler(destination, encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"IB_BRIDGE_AUDIT_LOG: cannot open {destination!r}: {exc.strerror}"
            ) from None
    handler.setFormatter(_LineFormatter())
    with _configure_lock:
        for old in log.handlers:
            old.close()
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False


class Audit:
    def __init__(self, fraud: FraudRules, clock: Clock = system_clock) -> None:
        self.fraud = fraud
        self.clock = clock
        # Called with every event written (fraud alerts included), after it was logged: the
        # metrics' counters (metrics.Metrics.observe_audit). A listener must not raise.
        self.listeners: list[Callable[[AuditEvent], None]] = []
        # The admin page's "recent events": this worker's last RECENT events, newest last.
        self.recent: deque[AuditEvent] = deque(maxlen=RECENT)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        clock: Clock = system_clock,
        *,
        address_key: Callable[[str], str] = str,
    ) -> Audit:
        """`address_key`: how the fraud rules' counters key a client address (the bridge
        passes its keyed address hash)."""
        configure_audit_log(settings.audit_log)
        thresholds = Thresholds.from_settings(settings)
        return cls(FraudRules(thresholds, MemoryCounters(), clock, address_key), clock)

    def emit(
        self,
        event: Event,
        outcome: Outcome = Outcome.SUCCESS,
        *,
        client_id: str | None = None,
        client_authenticated: bool | None = None,
        ib_user_id: str | None = None,
        grant_id: str | None = None,
        reason: str | None = None,
        retry_after: int | None = None,
        key_id: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Write one event, with the current request's id, address and user agent."""
        self.write(
            AuditEvent(
                event=event,
                outcome=outcome,
                time=self.clock(),
                client_id=client_id,
                client_authenticated=client_authenticated,
                ib_user_id=ib_user_id,
                grant_id=grant_id,
                reason=reason,
                retry_after=retry_after,
                key_id=key_id,
                actor=actor,
            )
        )

    def write(self, event: AuditEvent) -> None:
        event = with_request(event)
        self._log(event)
        if event.event.value.startswith("fraud."):
            return
        for alert in self.fraud.observe(event):
            self._log(with_request(alert))

    def _log(self, event: AuditEvent) -> None:
        log.info(event.as_json())
        self.recent.append(event)
        for listener in self.listeners:
            listener(event)

    def grant_used(
        self, grant_id: str, *, client_id: str | None, ib_user_id: str | None
    ) -> GrantVerdict:
        """A use of a grant by the current request (a proxy call, a refresh, an exchange):
        the fraud rule's verdict, its alert already written. Cheap when the address is known."""
        context = current_request()
        verdict = self.fraud.grant_used(
            grant_id,
            context.ip if context else None,
            client_id=client_id,
            ib_user_id=ib_user_id,
        )
        if verdict.alert is not None:
            self._log(with_request(verdict.alert))
        return verdict

    def blocked(self, client_id: str | None) -> int | None:
        """Seconds left of a fraud block on the current request's address, or on the named
        confidential client; None when neither is blocked."""
        context = current_request()
        return self.fraud.blocked(context.ip if context else None, client_id)


def with_request(event: AuditEvent) -> AuditEvent:
    """`event` with the current request's id, address and user agent where it has none."""
    context = current_request()
    if context is None or event.request_id is not None:
        return event
    return dataclasses.replace(
        event,
        request_id=context.request_id,
        ip=event.ip or context.ip,
        user_agent=event.user_agent or context.user_agent,
    )


def emit_key_rotated(
    settings: Settings,
    *,
    key_id: str,
    previous_key_id: str | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> None:
    """For the key-rotation CLI: write `key.rotated` (the public ids of the new key and of the
    one it replaced) to the audit log the settings name. Never pass key material."""
    configure_audit_log(settings.audit_log)
    log.info(
        AuditEvent(
            event=Event.KEY_ROTATED,
            outcome=outcome,
            time=clock(),
            key_id=key_id,
            previous_key_id=previous_key_id,
            reason=reason,
        ).as_json()
    )


def emit_admin(
    settings: Settings,
    event: Event,
    outcome: Outcome,
    *,
    grant_id: str | None = None,
    client_id: str | None = None,
    ib_user_id: str | None = None,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> None:
    """For the admin CLI: write one event (a grant revoked, a client deleted) to the audit log
    the settings name, as the server writes it. Ids only, never a secret."""
    configure_audit_log(settings.audit_log)
    log.info(
        AuditEvent(
            event=event,
            outcome=outcome,
            time=clock(),
            grant_id=grant_id,
            client_id=client_id,
            ib_user_id=ib_user_id,
            reason=reason,
        ).as_json()
    )


__all__ = [
    "LOGGER",
    "Audit",
    "AuditEvent",
    "Event",
    "Outcome",
    "configure_audit_log",
    "emit_admin",
    "emit_key_rotated",
]
