"""`open_store(url)`: pick the store backend from one setting (IB_BRIDGE_STORE_URL)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from .protocols import Store
from .sqlite import SQLiteStore

__all__ = ["ACCEPTED_FORMS", "StoreURLError", "is_redis_url", "open_store", "sqlite_path"]

ACCEPTED_FORMS = (
    "sqlite:///absolute/path.db, sqlite:relative/path.db, a bare filesystem path,"
    " or redis://[:password@]host[:port][/db] (rediss:// for TLS)"
)

# A URL scheme (RFC 3986 3.1) followed by a colon. Anything that does not start like this is
# taken as a plain path; a path that does (a:b.db) can be written ./a:b.db.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class StoreURLError(ValueError):
    """A store URL the bridge cannot open. The message names the accepted forms."""


def open_store(url: str, *, clock: Callable[[], float] = time.time) -> Store:
    """Open the store that `url` names, with `clock` as its idea of now. A Redis store is
    checked at once: an unreachable server raises `StoreUnavailableError` here, at start-up."""
    if is_redis_url(url):
        try:
            from .redis import RedisStore, redis_target
        except ModuleNotFoundError as exc:  # the optional `redis` extra is not installed
            raise StoreURLError(
                f"a Redis store needs the redis package: install ib-oauth-bridge[redis] ({exc})"
            ) from None
        try:
            redis_target(url)
        except ValueError as exc:
            raise StoreURLError(f"{exc}; use {ACCEPTED_FORMS}") from None
        return RedisStore.open(url, clock=clock)
    return SQLiteStore(sqlite_path(url), clock=clock)


def is_redis_url(url: str) -> bool:
    match = _SCHEME.match(url.strip())
    return match is not None and match.group(1).lower() in {"redis", "rediss"}


def sqlite_path(url: str) -> Path:
    """The SQLite file a store URL names, or StoreURLError when it names none."""
    url = url.strip()
    if not url:
        raise StoreURLError(f"the store URL is empty; use {ACCEPTED_FORMS}")
    match = _SCHEME.match(url)
    if match is None:
        return Path(url)
    scheme = match.group(1).lower()
    if scheme in {"redis", "rediss"}:
        raise StoreURLError(f"{scheme}:// names a Redis store, not a SQLite file")
    if scheme != "sqlite":
        raise StoreURLError(f"unsupported store URL scheme {scheme!r}; use {ACCEPTED_FORMS}")
    rest = url[match.end() :]
    if "?" in rest or "#" in rest:
        # Silently making "bridge.db?mode=ro" a file name would surprise more than refusing.
        raise StoreURLError(f"a sqlite store URL takes no query or fragment: {url!r}")
    if rest.startswith("//"):
        # sqlite:///abs: an empty authority, then the absolute path. Extra slashes (the
        # SQLAlchemy spelling sqlite:////abs) name the same absolute path.
        authority, _, path = rest[2:].partition("/")
        if authority:
            raise StoreURLError(
                f"a sqlite store URL names no host ({authority!r} in {url!r}); use {ACCEPTED_FORMS}"
            )
        path = "/" + path.lstrip("/")
    else:
        path = rest  # sqlite:relative/path.db (or sqlite:/abs/path.db)
    if path.strip("/") == "":
        raise StoreURLError(f"the store URL {url!r} names no file; use {ACCEPTED_FORMS}")
    return Path(path)
