"""An authenticated IB session as the proxy and /userinfo see it: the live grant plus its sid,
decrypted only for the request that needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..clock import Clock
from ..store.failures import StoreUnavailable
from ..store.protocols import GrantStore
from ..store.records import Grant


@dataclass(frozen=True, slots=True)
class IBSession:
    grant: Grant
    sid: str = field(repr=False)

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The only hosts the sid may ever be sent to: the session's platform and API hosts."""
        return frozenset(
            urlsplit(url).netloc.lower() for url in (self.grant.api_v3_url, self.grant.platform_url)
        )


@dataclass(slots=True)
class _Entry:
    session: IBSession
    valid_until: float


class SessionCache:
    """Live IB sessions by grant id, so that a proxied call needs no store read and no
    decryption: the proxy's hot path.

    An entry goes when this process ends its grant (`evict`: revocation, IB's 401), when its
    grant's IB session ends or it would sit idle past the idle timeout (`valid_until`), and when
    any process sharing the store revokes any grant: the store's revocation count is read at most
    once per `check_interval` seconds, and a change empties the cache. So a revocation elsewhere
    takes effect here within `check_interval`.

    While the store is unavailable (`StoreUnavailable` from the count), cached sessions go on
    being served, and the count is asked again on every call until the store answers: the
    proxy keeps working for callers already served here, IB still refuses an ended session, and
    no revocation can be made while the store is down. A revocation made in the last
    `check_interval` before the outage is seen when the store is back, and then empties the
    cache as usual. A session not in the cache needs the store, and gets its 503.
    """

    def __init__(
        self,
        grants: GrantStore,
        clock: Clock,
        *,
        check_interval: float = 0.5,
        max_entries: int = 10_000,
    ) -> None:
        self._grants = grants
        self._clock = clock
        self._check_interval = check_interval
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._revocations: int | None = None
        self._checked_at = float("-inf")

    async def get(self, grant_id: str) -> IBSession | None:
        now = self._clock()
        if now - self._checked_at >= self._check_interval:
            try:
                await self._check_revocations(now)
            except StoreUnavailable:
                if grant_id not in self._entries:
                    raise
        entry = self._entries.get(grant_id)
        if entry is None:
            return None
        if entry.valid_until <= now:
            del self._entries[grant_id]
            return None
        return entry.session

    def put(self, session: IBSession, valid_until: float) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest entry
        self._entries[session.grant.grant_id] = _Entry(session, valid_until)

    def evict(self, grant_id: str) -> None:
        self._entries.pop(grant_id, None)

    async def _check_revocations(self, now: float) -> None:
        count = await self._grants.revocation_count()
        if count != self._revocations:
            self._entries.clear()
            self._revocations = count
        self._checked_at = now
