"""Fraud rules over the audit stream, with thresholds from settings and an injected clock.

    refresh reuse        a used refresh token presented again (the grant is already revoked
                         by the refresh grant): a `fraud.refresh_reuse` alert
    exchange failures    more than N failed code exchanges (unknown or used code, PKCE
                         failure, wrong redirect URI) from one address, or from one
                         authenticated confidential client, within T: /token refuses that
                         address (or client) with 429 until the block ends
    grant addresses      one grant used (proxy calls, refreshes, exchanges) from more than N
                         addresses within T: an alert, and the grant revoked when configured
    users per address    more than N different IB users signing in through one address
                         within T: an alert

Counts live behind `Counters` (in this worker's memory for now; a shared backend can replace
it without touching the rules). Public clients are never blocked per client: their id is a
label anyone may send (see handlers.limits), so only the address counts for them.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..clock import Clock
from ..settings import Settings
from .events import AuditEvent, Event, Outcome

# Keys each counter kind keeps at most (oldest forgotten first), so that a flood of addresses
# cannot grow a worker's memory without bound.
MAX_KEYS = 100_000
V = TypeVar("V")


class Counters(Protocol):
    def hit(self, key: str, now: float, window: float) -> int:
        """Count one event for `key`; how many fell within the last `window` seconds."""

    def add_member(self, key: str, member: str, now: float, window: float) -> int | None:
        """Note `member` under `key`: None when it was already noted within `window` (the cheap
        path), else how many distinct members `key` has within the window, this one included."""

    def block(self, key: str, until: float) -> None: ...

    def blocked_until(self, key: str, now: float) -> float | None: ...


class MemoryCounters:
    """`Counters` in this process's memory, thread-safe (Authlib's hooks run in threads)."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._members: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._blocks: OrderedDict[str, float] = OrderedDict()

    def hit(self, key: str, now: float, window: float) -> int:
        with self._lock:
            times = self._hits.pop(key, None) or deque()
            while times and times[0] <= now - window:
                times.popleft()
            times.append(now)
            self._keep(self._hits, key, times)
            return len(times)

    def add_member(self, key: str, member: str, now: float, window: float) -> int | None:
        members = self._members.get(key)
        if members is not None:
            seen = members.get(member)
            if seen is not None and seen > now - window:
                return None  # no lock, no write: the proxy's hot path
        with self._lock:
            members = self._members.pop(key, None) or {}
            for old, seen in list(members.items()):
                if seen <= now - window:
                    del members[old]
            members[member] = now
            self._keep(self._members, key, members)
            return len(members)

    def block(self, key: str, until: float) -> None:
        with self._lock:
            self._blocks.pop(key, None)
            self._keep(self._blocks, key, until)

    def blocked_until(self, key: str, now: float) -> float | None:
        until = self._blocks.get(key)
        return until if until is not None and until > now else None

    def _keep(self, table: OrderedDict[str, V], key: str, value: V) -> None:
        table[key] = value
        while len(table) > self._max_keys:
            table.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A rule with `limit` 0 is off."""

    exchange_failures: int
    exchange_failure_window: int
    exchange_block_seconds: int
    grant_addresses: int
    grant_address_window: int
    grant_addresses_revoke: bool
    users_per_address: int
    users_per_address_window: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            exchange_failures=settings.fraud_exchange_failures,
            exchange_failure_window=settings.fraud_exchange_failure_window,
            exchange_block_seconds=settings.fraud_exchange_block_seconds,
            grant_addresses=settings.fraud_grant_addresses,
            grant_address_window=settings.fraud_grant_address_window,
            grant_addresses_revoke=settings.fraud_grant_addresses_revoke,
            users_per_address=settings.fraud_users_per_address,
            users_per_address_window=settings.fraud_users_per_address_window,
        )


@dataclass(frozen=True, slots=True)
class GrantVerdict:
    alert: AuditEvent | None = None
    revoke: bool = False


class FraudRules:
    """`address_key` turns a client address into the key the counters keep (the bridge's
    keyed address hash: no counter holds a raw address)."""

    def __init__(
        self,
        thresholds: Thresholds,
        counters: Counters,
        clock: Clock,
        address_key: Callable[[str], str] = str,
    ) -> None:
        self.thresholds = thresholds
        self.counters = counters
        self.clock = clock
        # Cached: the proxy asks on every call, and the keyed hash is not free.
        self.address_key = functools.lru_cache(maxsize=4096)(address_key)

    def observe(self, event: AuditEvent) -> list[AuditEvent]:
        """The alerts `event` raises (to be written to the audit log after it)."""
        if event.event is Event.TOKEN_REFRESH_REUSE:
            return [self._alert(Event.FRAUD_REFRESH_REUSE, event, revoked=True)]
        if event.event is Event.CODE_EXCHANGE_FAILED:
            return self._exchange_failed(event)
        if event.event is Event.LOGIN_COMPLETED and event.ip and event.ib_user_id:
            return self._user_signed_in(event)
        return []

    # exchange failures -------------------------------------------------------------------

    def _exchange_failed(self, event: AuditEvent) -> list[AuditEvent]:
        limits = self.thresholds
        if limits.exchange_failures <= 0:
            return []
        now = event.time
        alerts = []
        # Per client only for one that proved itself with a secret: a public client's id is
        # anyone's to send, and counting it would let anyone lock its every user out.
        client = event.client_id if event.client_authenticated else None
        keys = [("ip", event.ip and self.address_key(event.ip)), ("client", client)]
        for kind, value in keys:
            if not value:
                continue
            key = f"exchange-failures:{kind}:{value}"
            count = self.counters.hit(key, now, limits.exchange_failure_window)
            if count > limits.exchange_failures:
                self.counters.block(f"blocked:{kind}:{value}", now + limits.exchange_block_seconds)
                alerts.append(
                    self._alert(
                        Event.FRAUD_EXCHANGE_BLOCKED,
                        event,
                        reason=f"by_{kind}",
                        count=count,
                        window=limits.exchange_failure_window,
                        retry_after=limits.exchange_block_seconds,
                    )
                )
        return alerts

    def blocked(self, ip: str | None, client_id: str | None) -> int | None:
        """Seconds left of a block on this address or confidential client, or None."""
        now = self.clock()
        address = self.address_key(ip) if ip else None
        ends = [
            until
            for kind, value in (("ip", address), ("client", client_id))
            if value and (until := self.counters.blocked_until(f"blocked:{kind}:{value}", now))
        ]
        return max(1, int(max(ends) - now + 0.999)) if ends else None

    # grant addresses ---------------------------------------------------------------------

    def grant_used(
        self, grant_id: str, ip: str | None, *, client_id: str | None, ib_user_id: str | None
    ) -> GrantVerdict:
        """A use of `grant_id` from `ip`: cheap (a dictionary read) unless the address is new
        for the grant within the window."""
        limits = self.thresholds
        if limits.grant_addresses <= 0 or not ip:
            return GrantVerdict()
        now = self.clock()
        count = self.counters.add_member(
            f"grant-addresses:{grant_id}", self.address_key(ip), now, limits.grant_address_window
        )
        if count is None or count <= limits.grant_addresses:
            return GrantVerdict()
        alert = AuditEvent(
            event=Event.FRAUD_GRANT_MANY_ADDRESSES,
            outcome=Outcome.ALERT,
            time=now,
            ip=ip,
            client_id=client_id,
            ib_user_id=ib_user_id,
            grant_id=grant_id,
            count=count,
            window=limits.grant_address_window,
            revoked=limits.grant_addresses_revoke,
        )
        return GrantVerdict(alert, revoke=limits.grant_addresses_revoke)

    # users per address -------------------------------------------------------------------

    def _user_signed_in(self, event: AuditEvent) -> list[AuditEvent]:
        limits = self.thresholds
        if limits.users_per_address <= 0 or not event.ip or not event.ib_user_id:
            return []
        count = self.counters.add_member(
            f"address-users:{self.address_key(event.ip)}",
            event.ib_user_id,
            event.time,
            limits.users_per_address_window,
        )
        if count is None or count <= limits.users_per_address:
            return []
        return [
            self._alert(
                Event.FRAUD_MANY_USERS_ONE_ADDRESS,
                event,
                count=count,
                window=limits.users_per_address_window,
            )
        ]

    def _alert(
        self,
        name: Event,
        cause: AuditEvent,
        *,
        reason: str | None = None,
        count: int | None = None,
        window: int | None = None,
        retry_after: int | None = None,
        revoked: bool | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            event=name,
            outcome=Outcome.ALERT,
            time=cause.time,
            request_id=cause.request_id,
            ip=cause.ip,
            user_agent=cause.user_agent,
            client_id=cause.client_id,
            client_authenticated=cause.client_authenticated,
            ib_user_id=cause.ib_user_id,
            grant_id=cause.grant_id,
            reason=reason,
            count=count,
            window=window,
            retry_after=retry_after,
            revoked=revoked,
        )
