"""When the store cannot answer: one error, `StoreUnavailable`, raised by both backends, and the
one table of which backend errors mean it.

A store that is down, locked, full or still loading is a passing condition of the deployment,
not a bug: every request that needs the store then answers 503 (`handlers.errors` renders it,
with `Retry-After`) instead of a 500, and the next request tries again. Which errors are passing
is decided here and nowhere else:

* Redis: a connection refused, reset or timed out (the pool's socket timeouts bound every
  wait), no free connection in the pool within its wait, `LOADING` (a restarted server reading
  its AOF), a read-only replica after a failover, `MISCONF` (it cannot persist), out of memory.
* SQLite: the file locked past the busy timeout (`SQLITE_BUSY`/`SQLITE_LOCKED`), an I/O error,
  the disk full (`SQLITE_FULL`), the file unopenable or read-only.

Anything else (a programming error, a malformed record) stays what it is: a 500 that is logged.
Backend methods are wrapped by `translate_failures`, so no caller ever sees a backend's own
exception type for these.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["StoreUnavailable", "store_failure", "translate_failures"]

# SQLite's primary result codes that mean "not now" rather than "wrong" (Python 3.11+ names
# them in `sqlite_errorname`; extended codes such as SQLITE_IOERR_WRITE start with these).
_SQLITE_PASSING = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_CANTOPEN",
    "SQLITE_READONLY",
    "SQLITE_PROTOCOL",
)
# The same by message, for errors raised without a code (older SQLite builds, our own).
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
    "attempt to write a readonly database",
)
# Redis error replies that mean the server cannot serve now.
_REDIS_REPLIES = ("LOADING", "MISCONF", "READONLY", "MASTERDOWN", "TRYAGAIN", "OOM", "BUSY ")


class StoreUnavailable(Exception):
    """The store cannot answer now (down, locked, full, loading). `reason` is short, fixed text
    for logs and metrics; never a key, a record or a URL with a password."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"the {backend} store is unavailable: {reason}")
        self.backend = backend
        self.reason = reason


def store_failure(exc: BaseException) -> StoreUnavailable | None:
    """The `StoreUnavailable` a backend error means, or None when it is not a passing one."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, sqlite3.OperationalError):
        name = str(getattr(exc, "sqlite_errorname", "") or "")
        message = str(exc).lower()
        if name.startswith(_SQLITE_PASSING) or message.startswith(_SQLITE_MESSAGES):
            return StoreUnavailable("sqlite", name or message)
        return None
    try:  # redis is a dependency of the Redis backend only
        import redis
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):  # BusyLoadingError too
        return StoreUnavailable("redis", type(exc).__name__)
    if isinstance(exc, redis.ResponseError) and str(exc).upper().startswith(_REDIS_REPLIES):
        return StoreUnavailable("redis", str(exc).split(" ", 1)[0].upper())
    if isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError):
        return StoreUnavailable("redis", type(exc).__name__)
    return None


T = TypeVar("T")
Method = Callable[..., Awaitable[Any]]


def translate_failures(cls: type[T]) -> type[T]:
    """Wrap every public coroutine method of a store class so that a passing backend error
    leaves it as `StoreUnavailable` (after the class's `_unavailable(exc)` hook, if any, has
    cleaned up: the Redis pool drops its idle sockets)."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue
        setattr(cls, name, _translated(method))
    return cls


def _translated(method: Method) -> Method:
    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            failure = store_failure(exc)
            if failure is None:
                raise
            hook = getattr(self, "_unavailable", None)
            if hook is not None:
                await hook(exc)
            raise failure from exc

    return wrapper
