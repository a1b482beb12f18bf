"""The proxy's session cache: entries go when evicted, when they expire, and when any process
revokes any grant (the store's revocation count, read at most once per check interval)."""

from __future__ import annotations

import asyncio

from ib_oauth_bridge.ib.session import IBSession, SessionCache
from ib_oauth_bridge.store.records import Grant

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Revocations:
    """The slice of GrantStore the cache reads, counting how often it is asked."""

    def __init__(self) -> None:
        self.count = 0
        self.reads = 0

    async def revocation_count(self) -> int:
        self.reads += 1
        return self.count


def session(grant_id: str = "g") -> IBSession:
    grant = Grant(grant_id, "c", "ib.read", None, b"", "https://p", "https://a", "X", {},
                  session_expires_at=NOW + 3600, created_at=NOW, last_used_at=NOW)
    return IBSession(grant, "the-sid")


def make() -> tuple[SessionCache, Clock, Revocations]:
    """A cache that has read the revocation count once, as after a worker's first call."""
    clock, store = Clock(), Revocations()
    cache = SessionCache(store, clock, check_interval=0.5)  # type: ignore[arg-type]
    assert asyncio.run(cache.get("none")) is None
    return cache, clock, store


def test_entries_made_before_the_first_count_are_not_trusted() -> None:
    clock, store = Clock(), Revocations()
    cache = SessionCache(store, clock, check_interval=0.5)  # type: ignore[arg-type]
    cache.put(session(), valid_until=NOW + 10)
    assert asyncio.run(cache.get("g")) is None


def get(cache: SessionCache, grant_id: str = "g") -> IBSession | None:
    return asyncio.run(cache.get(grant_id))


def test_a_cached_session_is_served_until_it_expires() -> None:
    cache, clock, _ = make()
    cache.put(session(), valid_until=NOW + 10)
    assert get(cache) is not None
    clock.now = NOW + 10
    assert get(cache) is None


def test_evict_takes_effect_at_once() -> None:
    cache, _, _ = make()
    cache.put(session(), valid_until=NOW + 10)
    cache.evict("g")
    assert get(cache) is None


def test_a_revocation_elsewhere_empties_the_cache_at_the_next_check() -> None:
    cache, clock, store = make()
    cache.put(session("a"), valid_until=NOW + 100)
    cache.put(session("b"), valid_until=NOW + 100)
    store.count += 1  # another worker revoked some grant
    clock.now += 0.4
    assert get(cache, "a") is not None  # not checked again within the interval
    clock.now += 0.1
    assert get(cache, "a") is None
    assert get(cache, "b") is None


def test_the_count_is_read_at_most_once_per_interval() -> None:
    cache, clock, store = make()
    cache.put(session(), valid_until=NOW + 100)
    for _ in range(40):
        get(cache)
        clock.now += 0.01
    assert store.reads == 1  # the read in make()
    clock.now += 0.2  # now past the interval
    get(cache)
    assert store.reads == 2
