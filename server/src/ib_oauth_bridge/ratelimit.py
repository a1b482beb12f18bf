"""Rate limits per key (a client address, a client, a grant), on the `limits` library's moving
window.

`RateLimits` holds one `limits` storage for the whole bridge and makes one `RateLimiter` per
limited thing (`limits.limiter("10/minute", name="registration")`); the name keeps the counts
of different limiters apart in the shared storage. `await limiter.hit(key)` counts one request
and answers None while the key is within its limit, or how many seconds to wait (for
`Retry-After`) once it is not; `enforce` raises the 429 for it.

Where the counts live follows the store: with the SQLite store, in this process's memory
(`async+memory://`: each worker limits on its own, and a restart forgets); with a Redis store,
in that same Redis under the store's namespace (`<prefix>:<format>:rl:...`, through redis-py),
so every worker on every host counts together. While that Redis cannot answer, each limiter
counts in this process's memory instead (as with SQLite: per worker), so an outage neither lifts
the limits nor turns every limited request into an error; the shared counts are used again as
soon as Redis answers. `limits` keeps its windows on the system clock
(it takes no injected clock); tests start each bridge with a fresh storage, or call `reset()`.

Keys are the caller's business; client addresses go through `address_hash` first, so that no
storage (this one, or the store's login transactions) ever holds a raw IP address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from .errors import BridgeError
from .settings import Settings
from .store.failures import store_failure
from .store.url import is_redis_url

log = logging.getLogger("ib_oauth_bridge")


class RateLimiter:
    def __init__(
        self,
        item: RateLimitItem,
        name: str,
        strategy: MovingWindowRateLimiter,
        fallback: MovingWindowRateLimiter | None = None,
    ) -> None:
        self.item = item
        self.name = name
        self._shared = strategy
        self._fallback = fallback
        self._strategy = strategy

    def __str__(self) -> str:
        return str(self.item)

    async def hit(self, key: str) -> int | None:
        """Count one request for `key`: None when allowed, else the seconds until one more
        would be (at least 1)."""
        try:
            allowed = await self._shared.hit(self.item, self.name, key)
            self._strategy = self._shared
        except Exception as exc:
            allowed = await self._degraded(exc).hit(self.item, self.name, key)
        if allowed:
            return None
        return await self._retry_after(key)

    async def test(self, key: str) -> int | None:
        """Like `hit`, without counting: None while one more request would be allowed."""
        try:
            allowed = await self._shared.test(self.item, self.name, key)
            self._strategy = self._shared
        except Exception as exc:
            allowed = await self._degraded(exc).test(self.item, self.name, key)
        if allowed:
            return None
        return await self._retry_after(key)

    def _degraded(self, exc: Exception) -> MovingWindowRateLimiter:
        """The in-memory counts, when the shared storage failed for a passing reason (else the
        error goes on: a bug is not an outage)."""
        failure = store_failure(exc)
        if failure is None or self._fallback is None:
            raise exc
        if self._strategy is not self._fallback:
            log.warning(
                "rate limits count in this process while the store is unavailable",
                extra={"limiter": self.name, "reason": failure.reason},
            )
        self._strategy = self._fallback
        return self._fallback

    async def enforce(self, key: str, what: str, *, count: bool = True) -> None:
        """`hit` (or, with count=False, `test`) and raise the 429 when over: RFC 6749-style
        `rate_limited` with `Retry-After`. `what` names the requests counted, for people
        ("requests to /token from this address")."""
        retry_after = await (self.hit(key) if count else self.test(key))
        if retry_after is not None:
            raise rate_limited(f"Too many {what} (at most {self.item}).", retry_after)

    async def _retry_after(self, key: str) -> int:
        try:
            stats = await self._strategy.get_window_stats(self.item, self.name, key)
        except Exception as exc:
            stats = await self._degraded(exc).get_window_stats(self.item, self.name, key)
        # `limits` keeps its windows on the system clock, so the wait is measured on it too.
        return max(1, math.ceil(stats.reset_time - time.time()))


class RateLimits:
    """The bridge's limiters over one shared `limits` storage."""

    def __init__(
        self,
        *,
        address_secret: str,
        storage_uri: str = "async+memory://",
        **storage_options: str | float | bool,
    ) -> None:
        storage = storage_from_string(storage_uri, **storage_options)
        assert isinstance(storage, Storage), "an async storage (async+memory://, async+redis://)"
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        # Where a shared storage's limiters count while it cannot answer.
        self._fallback = (
            None if isinstance(storage, MemoryStorage) else MovingWindowRateLimiter(MemoryStorage())
        )
        # Keyed, so that a stored hash cannot be reversed by hashing all 2^32 IPv4 addresses.
        self._address_key = hashlib.sha256(
            b"ib-oauth-bridge address hash\0" + address_secret.encode("utf-8")
        ).digest()

    def limiter(self, limit: str | RateLimitItem, *, name: str) -> RateLimiter:
        """`limit` as `limits` writes it ("10/minute", "100 per hour")."""
        item = parse(limit) if isinstance(limit, str) else limit
        return RateLimiter(item, name, self._strategy, self._fallback)

    def address_hash(self, address: str) -> str:
        """A client address as the bridge keeps it: a keyed hash, never the address itself."""
        digest = hmac.new(self._address_key, address.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]

    async def reset(self) -> None:
        """Forget every count (tests)."""
        await self.storage.reset()


def storage_for(store_url: str) -> dict[str, str]:
    """The `limits` storage beside the store: the same Redis when the store is Redis (keys
    under the store's namespace), else this process's memory."""
    if not is_redis_url(store_url):
        return {}
    from .store.redis import redis_target  # the optional redis extra, present with a Redis store

    target = redis_target(store_url)
    return {
        "storage_uri": "async+" + target.client_url,
        "implementation": "redispy",
        "key_prefix": target.namespace + "rl",
    }


def rate_limited(description: str, retry_after: int) -> BridgeError:
    """The answer beyond a limit: 429 `rate_limited` with `Retry-After` in whole seconds."""
    return BridgeError(
        429,
        "rate_limited",
        f"{description} Try again in {retry_after} s.",
        title="Too many requests",
        headers={"Retry-After": str(retry_after)},
    )


@dataclass(frozen=True, slots=True)
class BridgeLimits:
    """Every limiter the bridge's handlers use, from settings (docs/configuration.md)."""

    rates: RateLimits
    registration: RateLimiter  # POST /register, per address
    authorize: RateLimiter  # GET /authorize, per address
    login: RateLimiter  # the login page's endpoints, per address
    login_poll: RateLimiter  # /authorize/status and /continue, per login transaction
    token: RateLimiter  # /token, /revoke, /introspect, per address
    client: RateLimiter  # ... and per authenticated confidential client
    proxy: RateLimiter  # the proxy, per grant

    @classmethod
    def from_settings(cls, settings: Settings, *, secret: str) -> BridgeLimits:
        """`secret` keys the address hash (the cookie secret: stable across workers)."""
        rates = RateLimits(address_secret=secret, **storage_for(settings.effective_store_url))
        return cls(
            rates=rates,
            registration=rates.limiter(settings.registration_rate_limit, name="registration"),
            authorize=rates.limiter(settings.authorize_rate_limit, name="authorize"),
            login=rates.limiter(settings.login_rate_limit, name="login"),
            login_poll=rates.limiter(settings.login_poll_rate_limit, name="login-poll"),
            token=rates.limiter(settings.token_rate_limit, name="token"),
            client=rates.limiter(settings.client_rate_limit, name="client"),
            proxy=rates.limiter(settings.proxy_rate_limit, name="proxy"),
        )
