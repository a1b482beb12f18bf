"""The shared `Store`: Redis (redis-py's asyncio client), for bridges on many hosts.

Same contract and semantics as `SQLiteStore` (one contract suite runs on both); what differs is
how the guarantees are kept:

* **Atomicity.** Every compare-and-set the SQLite backend does in a transaction (consuming a
  code or refresh token, claiming a poll or a submission, finishing a login, remembering a
  replay id, revoking a grant with its codes and tokens) is one Lua script: Redis runs a script
  alone, start to finish, so of any number of workers on any number of hosts exactly one wins.
  No WATCH, no read-then-write from Python. Scripts are loaded once per connection pool and
  called by SHA (`EVALSHA`, reloaded by redis-py when the server has forgotten them).
* **Expiry.** Every expiring record carries a Redis TTL (`PEXPIRE`, from its `expires_at` by
  the store's clock), so nothing needs purging: `purge_expired` is a no-op that returns 0.
  Reads and scripts still compare `expires_at` with the store's clock, exactly as SQLite does,
  so a record is invisible from the first instant of its expiry whatever Redis's own clock says
  and tests move time with a fake clock. Only the revocation counter and the index of
  registered clients live without a TTL (a registration kept after its first sign-in, like
  SQLite's, is kept until deleted).
* **Secrets.** Keys are the same `secret_hash(...)` the callers pass SQLite; the sid is the
  same AEAD blob (base64 inside the record's JSON); sealed login tokens and successors are the
  caller's sealed text. Nothing is stored that the SQLite file does not hold.

Layout: every key starts with `<prefix>:<FORMAT>:` (prefix `ibb` unless the URL says
`?prefix=`), then a short kind tag and the record's key. A record is a hash: its immutable
fields as one compact JSON value `d` (encoded by Python, so floats round-trip exactly) and, as
fields of their own, whatever a script compares or changes (`exp`, `st`, `u`, `rv`, ...):

    t:<hash>        login transaction    ta:<address hash>  zset of its unfinished transactions
    g:<grant id>    grant                gk:<grant id>       zset of its codes and tokens
    c:<hash>        authorization code   r:<hash>            refresh token
    rs:<hash>       a rotated token's sealed successor (TTL: the grace window)
    k:<client id>   registered client    ks                  zset of client ids, by issue time
    p:<hash>        replay-cache entry   n:rev               revocation counter

The indexes are kept by the same script that writes the record, scored by expiry and trimmed as
they are written, and carry a TTL as long as their longest member's.

Scripts name keys they derive (a grant's key from a token's grant id), so the backend runs on
one Redis (standalone, or a primary behind Sentinel/a managed failover), not Redis Cluster.

Connections: one `BlockingConnectionPool` per event loop (asyncio connections belong to the
loop that opened them; a worker process has one loop, tests sometimes several). No automatic
retry of commands: a script retried after a lost reply could consume a code twice and read the
second as a replay, so a broken connection surfaces as an error instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio
from redis.asyncio.client import Redis
from redis.commands.core import AsyncScript

from .failures import translate_failures
from .records import (
    AuthorizationCode,
    Consumed,
    Grant,
    GrantSummary,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
    RegisteredClient,
    SealedKind,
    SealedValue,
)
from .sqlite import StoreClosedError

__all__ = [
    "FORMAT",
    "RedisStore",
    "RedisTarget",
    "StoreUnavailableError",
    "redis_target",
]

# The layout version in every key: a change of record shape bumps it, and a bridge of one
# version never reads another's records (they expire on their own).
FORMAT = "1"
DEFAULT_PREFIX = "ibb"

# Pool defaults, each overridable by the URL's query (?max_connections=...).
POOL_DEFAULTS: dict[str, float | int] = {
    "max_connections": 64,  # per worker process
    "socket_connect_timeout": 5.0,
    "socket_timeout": 5.0,
    "health_check_interval": 15,  # PING a connection idle this long before reusing it
}
POOL_WAIT = 5.0  # seconds a request waits for a free connection before failing

# Query parameters redis-py understands in a URL (redis.asyncio.connection.parse_url passes
# them to the connection), plus our own `prefix`. Anything else is refused at start-up rather
# than failing at the first connection.
_QUERY = frozenset(
    {
        "db",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "max_connections",
        "health_check_interval",
        "client_name",
        "protocol",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_check_hostname",
        "ssl_min_version",
    }
)
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_PENDING = LoginStatus.PENDING.value
_UNFINISHED = (LoginStatus.NEW.value, LoginStatus.PENDING.value)
_NO_CAP = 2**62


class StoreUnavailableError(RuntimeError):
    """The store's server cannot be reached (or refuses us) at start-up. The message names the
    server without its password."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A parsed `redis://` / `rediss://` store URL."""

    client_url: str  # for redis-py: the URL without our own parameters
    prefix: str
    display: str  # scheme://host:port/db, never the password

    @property
    def namespace(self) -> str:
        """What every key of this store starts with."""
        return f"{self.prefix}:{FORMAT}:"


def redis_target(url: str) -> RedisTarget:
    """Parse a Redis store URL, or raise ValueError saying what is wrong (without echoing the
    password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"redis", "rediss"}:
        raise ValueError(f"not a Redis URL (scheme {scheme!r})")
    try:
        host, port = parts.hostname or "localhost", parts.port or 6379
    except ValueError:
        raise ValueError(f"the Redis URL has a bad port ({scheme}://...)") from None
    db = unquote(parts.path).strip("/")
    if db and not db.isdigit():
        raise ValueError(f"the Redis URL's path must be a database number, not {db!r}")
    if parts.fragment:
        raise ValueError("a Redis store URL takes no fragment")
    prefix = DEFAULT_PREFIX
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "prefix":
            if not _PREFIX.match(value):
                raise ValueError(
                    "the Redis URL's prefix must be 1 to 64 letters, digits, '.', '_' or '-'"
                )
            prefix = value
        elif name in _QUERY:
            kept.append((name, value))
        else:
            raise ValueError(
                f"unknown Redis URL parameter {name!r}; known: prefix, {', '.join(sorted(_QUERY))}"
            )
    client_url = urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), ""))
    display = f"{scheme}://{host}:{port}/{db or 0}"
    return RedisTarget(client_url=client_url, prefix=prefix, display=display)


# -- Lua ---------------------------------------------------------------------------------------
# Every script gets the namespace as ARGV[1] and the store's "now" as ARGV[2] where it needs
# them. Numbers travel as the decimal text Python's repr() writes, and are stored as given, so
# nothing is re-encoded by Lua; tonumber() is used only to compare (IEEE doubles, like SQLite).

# Keep a zset index: add `member` scored `score` (or remove it), drop what expired by `now`, and
# make the index live at least as long as `ttl` ms.
_INDEX = """
local function index(ik, member, score, ttl, now, keep)
  if not keep then
    redis.call('ZREM', ik, member)
    return
  end
  redis.call('ZADD', ik, score, member)
  redis.call('ZREMRANGEBYSCORE', ik, '-inf', now)
  if redis.call('PTTL', ik) < ttl then redis.call('PEXPIRE', ik, ttl) end
end
local function unfinished(st) return st == 'new' or st == 'pending' end
"""

# KEYS: t. ARGV: ns, now, ttl, d, st, lp, exp, addr ('' = none), sub, ib
_PUT_TXN = (
    _INDEX
    + """
local k, ns, now, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local old = redis.call('HGET', k, 'addr')
if old and old ~= ARGV[8] then redis.call('ZREM', ns .. 'ta:' .. old, k) end
redis.call('DEL', k)
if ttl <= 0 then
  if ARGV[8] ~= '' then redis.call('ZREM', ns .. 'ta:' .. ARGV[8], k) end
  return 0
end
redis.call('HSET', k, 'd', ARGV[4], 'st', ARGV[5], 'lp', ARGV[6], 'exp', ARGV[7],
           'sub', ARGV[9], 'ib', ARGV[10])
if ARGV[8] ~= '' then
  redis.call('HSET', k, 'addr', ARGV[8])
  index(ns .. 'ta:' .. ARGV[8], k, ARGV[7], ttl, now, unfinished(ARGV[5]))
end
redis.call('PEXPIRE', k, ttl)
return 1
"""
)

# KEYS: t. ARGV: ns
_DELETE_TXN = """
local addr = redis.call('HGET', KEYS[1], 'addr')
if addr then redis.call('ZREM', ARGV[1] .. 'ta:' .. addr, KEYS[1]) end
return redis.call('DEL', KEYS[1])
"""

# KEYS: t. ARGV: ns, store now, poll now, min interval, max ib calls
_CLAIM_POLL = """
local k = KEYS[1]
local h = redis.call('HMGET', k, 'exp', 'st', 'lp', 'ib')
if not h[1] or tonumber(h[1]) <= tonumber(ARGV[2]) or h[2] ~= 'pending' then return false end
if tonumber(ARGV[3]) - tonumber(h[3]) < tonumber(ARGV[4]) then return false end
if tonumber(h[4]) >= tonumber(ARGV[5]) then return false end
redis.call('HSET', k, 'lp', ARGV[3])
redis.call('HINCRBY', k, 'ib', 1)
return redis.call('HGETALL', k)
"""

# KEYS: t. ARGV: ns, now, max submissions, max ib calls
_CLAIM_SUBMISSION = """
local k = KEYS[1]
local h = redis.call('HMGET', k, 'exp', 'sub', 'ib')
if not h[1] or tonumber(h[1]) <= tonumber(ARGV[2]) then return false end
if tonumber(h[2]) >= tonumber(ARGV[3]) or tonumber(h[3]) >= tonumber(ARGV[4]) then
  return false
end
redis.call('HINCRBY', k, 'sub', 1)
redis.call('HINCRBY', k, 'ib', 1)
return redis.call('HGETALL', k)
"""

# KEYS: t. ARGV: ns, now, ttl, d, st, lp, exp. Never writes the address or the counts.
_FINISH_TXN = (
    _INDEX
    + """
local k, ns, now, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local h = redis.call('HMGET', k, 'exp', 'st', 'addr')
if not h[1] or tonumber(h[1]) <= tonumber(now) or h[2] ~= 'pending' then return 0 end
if ttl <= 0 then
  if h[3] then redis.call('ZREM', ns .. 'ta:' .. h[3], k) end
  redis.call('DEL', k)
  return 1
end
redis.call('HSET', k, 'd', ARGV[4], 'st', ARGV[5], 'lp', ARGV[6], 'exp', ARGV[7])
redis.call('PEXPIRE', k, ttl)
if h[3] then index(ns .. 'ta:' .. h[3], k, ARGV[7], ttl, now, unfinished(ARGV[5])) end
return 1
"""
)

# KEYS: g. ARGV: ns, now, ttl, d, exp, lu, rc, rv. Revocation is sticky: a stale copy put back
# never clears it, and a revoked grant stays (revoked) until its own end.
_PUT_GRANT = """
local k, ttl = KEYS[1], tonumber(ARGV[3])
local revoked = redis.call('HGET', k, 'rv') == '1'
if ttl <= 0 then
  if not revoked then redis.call('DEL', k) end
  return 0
end
redis.call('HSET', k, 'd', ARGV[4], 'exp', ARGV[5], 'lu', ARGV[6], 'rc', ARGV[7],
           'rv', (revoked or ARGV[8] == '1') and '1' or '0')
redis.call('PEXPIRE', k, ttl)
return 1
"""

# KEYS: g. ARGV: ns, last used, '1' when refreshed. last use never moves back.
_TOUCH_GRANT = """
local k = KEYS[1]
local h = redis.call('HMGET', k, 'lu', 'rv')
if not h[1] or h[2] == '1' then return 0 end
if tonumber(ARGV[2]) > tonumber(h[1]) then redis.call('HSET', k, 'lu', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HINCRBY', k, 'rc', 1) end
return 1
"""

# KEYS: g, gk, n:rev. The grant is marked (not deleted: see _LIVE), its codes and tokens go.
_REVOKE_GRANT = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rv', '1') end
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #members, 500 do
  redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('DEL', KEYS[2])
return redis.call('INCR', KEYS[3])
"""

# KEYS: c or r, then gk, then rs (refresh tokens). ARGV: ns, now, ttl, d, g, exp, u, su ('' =
# none), successor ('' = none), successor ttl.
_PUT_SINGLE_USE = (
    _INDEX
    + """
local k, ns, now, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('DEL', k)
if KEYS[3] then redis.call('DEL', KEYS[3]) end
if ttl <= 0 then return 0 end
redis.call('HSET', k, 'd', ARGV[4], 'g', ARGV[5], 'exp', ARGV[6], 'u', ARGV[7])
if ARGV[8] and ARGV[8] ~= '' then redis.call('HSET', k, 'su', ARGV[8]) end
redis.call('PEXPIRE', k, ttl)
if KEYS[3] and ARGV[9] ~= '' and tonumber(ARGV[10]) > 0 then
  redis.call('SET', KEYS[3], ARGV[9], 'PX', ARGV[10])
end
index(KEYS[2], k, ARGV[6], ttl, now, true)
return 1
"""
)

# Live: stored, unexpired by the store's clock, and its grant (if stored) not revoked. This is
# what closes the race where a refresh in flight stores its new token after the revocation.
_LIVE = """
local function live(k, ns, now)
  local h = redis.call('HMGET', k, 'exp', 'g', 'u', 'su')
  if not h[1] or tonumber(h[1]) <= tonumber(now) then return nil end
  if redis.call('HGET', ns .. 'g:' .. h[2], 'rv') == '1' then return nil end
  return h
end
"""

# KEYS: c or r, then rs (refresh tokens). ARGV: ns, now, '1' to consume (else only read).
# Returns {first use 0/1, the record's fields, the successor or ''}.
_READ_SINGLE_USE = (
    _LIVE
    + """
local k = KEYS[1]
local h = live(k, ARGV[1], ARGV[2])
if not h then return false end
local first = 0
if ARGV[3] == '1' and h[3] == '0' then
  redis.call('HSET', k, 'u', '1')
  first = 1
end
local successor = ''
if KEYS[2] then successor = redis.call('GET', KEYS[2]) or '' end
return {first, redis.call('HGETALL', k), successor}
"""
)

# KEYS: r, rs. ARGV: ns, now, successor, until, ttl. Once per token, and only a used live one.
_KEEP_SUCCESSOR = (
    _LIVE
    + """
local h = live(KEYS[1], ARGV[1], ARGV[2])
if not h or h[3] ~= '1' or h[4] then return 0 end
redis.call('HSET', KEYS[1], 'su', ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5]) end
return 1
"""
)

# KEYS: k, ks. ARGV: ns, now, ttl ('' = kept until deleted), d, exp ('' = none), issued at, id
_PUT_CLIENT = """
local k, ttl = KEYS[1], ARGV[3]
redis.call('DEL', k)
if ttl ~= '' and tonumber(ttl) <= 0 then
  redis.call('ZREM', KEYS[2], ARGV[7])
  return 0
end
redis.call('HSET', k, 'd', ARGV[4], 'exp', ARGV[5])
if ttl ~= '' then redis.call('PEXPIRE', k, ttl) end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
return 1
"""

_CLIENT_LIVE = """
local function client_live(k, now)
  local exp = redis.call('HGET', k, 'exp')
  return exp and (exp == '' or tonumber(exp) > tonumber(now))
end
"""

# KEYS: k. ARGV: ns, now. Only a live registration is kept: an expired one stays expired.
_MARK_CLIENT_USED = (
    _CLIENT_LIVE
    + """
if not client_live(KEYS[1], ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'exp', '')
redis.call('PERSIST', KEYS[1])
return 1
"""
)

# KEYS: k, ks. ARGV: ns, now, id. True only for a live registration (an expired one was gone).
_DELETE_CLIENT = (
    _CLIENT_LIVE
    + """
local was_live = client_live(KEYS[1], ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
if was_live then return 1 end
return 0
"""
)

# KEYS: ks. ARGV: ns. Every stored registration, oldest first (score), then by id; members
# whose record Redis has expired are dropped from the index here.
_LIST_CLIENTS = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HMGET', ARGV[1] .. 'k:' .. id, 'd', 'exp')
  if h[1] then
    table.insert(out, h[1])
    table.insert(out, h[2])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

# KEYS: p. ARGV: ns, now, expires at, ttl. Insert, or take over an entry whose time has passed.
_REMEMBER = """
local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) > tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 1
"""

# KEYS: the record (its JSON in field 'd'). ARGV: the JSON member, the sealed value expected
# there, the one to put instead. Sealed values are base64 text, so the member's text is exact.
_REPLACE_SEALED_MEMBER = """
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return 0 end
local member = '"' .. ARGV[1] .. '":"'
local s, e = string.find(d, member .. ARGV[2] .. '"', 1, true)
if not s then return 0 end
local replaced = member .. ARGV[3] .. '"'
redis.call('HSET', KEYS[1], 'd', string.sub(d, 1, s - 1) .. replaced .. string.sub(d, e + 1))
return 1
"""

# KEYS: rs. ARGV: the successor expected, the one to put instead (its window unchanged).
_REPLACE_SUCCESSOR = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""

# KEYS: any key. One record as stored, read in one step: {type, remaining ms (-1: no TTL),
# the Redis clock in ms, its value (a hash's fields and values, a string, a zset's members and
# scores)}. Every kind of record is a hash, a string or a zset.
_DUMP_RECORD = """
local k = KEYS[1]
local t = redis.call('TYPE', k)['ok']
local ttl = redis.call('PTTL', k)
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local v = {}
if t == 'hash' then v = redis.call('HGETALL', k)
elseif t == 'string' then v = {redis.call('GET', k)}
elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
end
return {t, ttl, ms, v}
"""

# KEYS: any key. ARGV: type, expiry as Unix ms by the Redis clock ('' = none), then the value
# as _DUMP_RECORD gave it. Replaces the key; a record whose expiry has passed is not written.
_LOAD_RECORD = """
local k, t, at = KEYS[1], ARGV[1], ARGV[2]
redis.call('DEL', k)
if at ~= '' then
  local now = redis.call('TIME')
  if tonumber(at) <= tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) then
    return 0
  end
end
if #ARGV < 3 then return 0 end
if t == 'hash' then
  for i = 3, #ARGV, 2 do redis.call('HSET', k, ARGV[i], ARGV[i + 1]) end
elseif t == 'string' then
  redis.call('SET', k, ARGV[3])
elseif t == 'zset' then
  for i = 3, #ARGV, 2 do redis.call('ZADD', k, ARGV[i + 1], ARGV[i]) end
else
  return 0
end
if at ~= '' then redis.call('PEXPIREAT', k, at) end
return 1
"""

_SCRIPTS = {
    "dump_record": _DUMP_RECORD,
    "load_record": _LOAD_RECORD,
    "replace_sealed_member": _REPLACE_SEALED_MEMBER,
    "replace_successor": _REPLACE_SUCCESSOR,
    "put_txn": _PUT_TXN,
    "delete_txn": _DELETE_TXN,
    "claim_poll": _CLAIM_POLL,
    "claim_submission": _CLAIM_SUBMISSION,
    "finish_txn": _FINISH_TXN,
    "put_grant": _PUT_GRANT,
    "touch_grant": _TOUCH_GRANT,
    "revoke_grant": _REVOKE_GRANT,
    "put_single_use": _PUT_SINGLE_USE,
    "read_single_use": _READ_SINGLE_USE,
    "keep_successor": _KEEP_SUCCESSOR,
    "put_client": _PUT_CLIENT,
    "mark_client_used": _MARK_CLIENT_USED,
    "delete_client": _DELETE_CLIENT,
    "list_clients": _LIST_CLIENTS,
    "remember": _REMEMBER,
}


@dataclass(slots=True)
class _Conn:
    client: Redis
    scripts: dict[str, AsyncScript]

    async def run(self, name: str, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        return await self.scripts[name](keys=list(keys), args=list(args))


def _num(value: float | int) -> str:
    """A number as the text Redis stores and Lua compares: repr() round-trips a float."""
    return repr(float(value)) if isinstance(value, float) else str(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@translate_failures
class RedisStore:
    """`Store` on one Redis server, shared by every worker on every host.

    A server that is down, unreachable, loading or refusing writes surfaces as
    `StoreUnavailable` (store.failures) within the pool's socket timeouts; the pool then drops
    its idle connections, so when the server is back the next requests open fresh ones instead
    of each finding a dead socket."""

    def __init__(self, target: RedisTarget, *, clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self._ns = target.namespace
        self._clock = clock
        self._conns: dict[asyncio.AbstractEventLoop, _Conn] = {}
        self._closed = False

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], float] = time.time) -> RedisStore:
        """Open the store a URL names and check, once, that the server answers (a blocking
        PING: this runs at start-up), so a wrong address or password fails the start, clearly."""
        target = redis_target(url)
        check = redis.Redis.from_url(target.client_url, **_client_options())
        try:
            check.ping()
        except redis.RedisError as exc:
            raise StoreUnavailableError(
                f"cannot reach the Redis store at {target.display}: {type(exc).__name__}: "
                f"{_scrub(str(exc), url)}"
            ) from None
        finally:
            check.close()
        return cls(target, clock=clock)

    # -- connections -----------------------------------------------------------------------

    def _conn(self) -> _Conn:
        if self._closed:
            raise StoreClosedError(f"{self!r} is closed")
        loop = asyncio.get_running_loop()
        conn = self._conns.get(loop)
        if conn is None:
            # Loops that have ended (a thread's asyncio.run) take their pools with them.
            for gone in [lp for lp in self._conns if lp.is_closed()]:
                del self._conns[gone]
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.target.client_url, timeout=POOL_WAIT, **_client_options()
            )
            client = Redis(connection_pool=pool)
            scripts = {name: client.register_script(lua) for name, lua in _SCRIPTS.items()}
            conn = self._conns[loop] = _Conn(client, scripts)
        return conn

    async def _unavailable(self, exc: BaseException) -> None:
        """After a failed command: close this loop's idle connections (they are likely dead
        too: the server restarted or the network dropped). Connections in use by other
        requests are left to fail or succeed on their own."""
        if not isinstance(exc, redis.ConnectionError | redis.TimeoutError | OSError):
            return
        conn = self._conns.get(asyncio.get_running_loop())
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.client.connection_pool.disconnect(inuse_connections=False)

    def _key(self, kind: str, key: str) -> str:
        return f"{self._ns}{kind}:{key}"

    def _ttl_ms(self, expires_at: float, now: float) -> int:
        return math.ceil((expires_at - now) * 1000)

    async def close(self) -> None:
        self._closed = True
        conns, self._conns = self._conns, {}
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for owner, conn in conns.items():
            # A pool's connections can be closed only on the loop that opened them.
            if owner is loop:
                await conn.client.aclose(close_connection_pool=True)

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"RedisStore({self.target.display!r}, prefix={self.target.prefix!r})"

    # -- login transactions ----------------------------------------------------------------

    async def put_transaction(self, key: str, transaction: LoginTransaction) -> None:
        t, now = transaction, self._clock()
        await self._conn().run(
            "put_txn",
            [self._key("t", key)],
            [
                self._ns,
                _num(now),
                self._ttl_ms(t.expires_at, now),
                *_txn_fields(t),
                t.address_hash or "",
                t.submissions,
                t.ib_calls,
            ],
        )

    async def get_transaction(self, key: str) -> LoginTransaction | None:
        raw = await self._conn().client.hgetall(self._key("t", key))
        fields = cast(dict[str, str], raw)
        if not fields or float(fields["exp"]) <= self._clock():
            return None
        return _txn_from(fields)

    async def delete_transaction(self, key: str) -> None:
        await self._conn().run("delete_txn", [self._key("t", key)], [self._ns])

    async def count_live_transactions(self, address_hash: str) -> int:
        # The index holds only unfinished transactions, scored by expiry.
        count = await self._conn().client.zcount(
            self._key("ta", address_hash), f"({_num(float(self._clock()))}", "+inf"
        )
        return int(count)

    async def claim_poll(
        self, key: str, *, now: float, min_interval: float, max_ib_calls: int | None = None
    ) -> LoginTransaction | None:
        cap = _NO_CAP if max_ib_calls is None else max_ib_calls
        args = [self._ns, _num(float(self._clock())), _num(float(now)), _num(float(min_interval))]
        raw = await self._conn().run("claim_poll", [self._key("t", key)], [*args, cap])
        return None if raw is None else _txn_from(_pairs(raw))

    async def claim_submission(
        self, key: str, *, max_submissions: int, max_ib_calls: int
    ) -> LoginTransaction | None:
        args: list[str | int] = [self._ns, _num(self._clock()), max_submissions, max_ib_calls]
        raw = await self._conn().run("claim_submission", [self._key("t", key)], args)
        return None if raw is None else _txn_from(_pairs(raw))

    async def finish_transaction(self, key: str, transaction: LoginTransaction) -> bool:
        t, now = transaction, self._clock()
        done = await self._conn().run(
            "finish_txn",
            [self._key("t", key)],
            [self._ns, _num(now), self._ttl_ms(t.expires_at, now), *_txn_fields(t)],
        )
        return bool(done)

    # -- grants ----------------------------------------------------------------------------

    async def put_grant(self, grant: Grant) -> None:
        g, now = grant, self._clock()
        data = {
            "client_id": g.client_id,
            "scope": g.scope,
            "resource": g.resource,
            "sid": base64.b64encode(bytes(g.sid_ciphertext)).decode("ascii"),
            "platform_url": g.platform_url,
            "api_v3_url": g.api_v3_url,
            "ib_client_id": g.ib_client_id,
            "user": g.user,
            "created_at": g.created_at,
        }
        await self._conn().run(
            "put_grant",
            [self._key("g", g.grant_id)],
            [
                self._ns,
                _num(now),
                self._ttl_ms(g.session_expires_at, now),
                _json(data),
                _num(g.session_expires_at),
                _num(g.last_used_at),
                g.refresh_count,
                "1" if g.revoked else "0",
            ],
        )

    async def get_grant(self, grant_id: str) -> Grant | None:
        raw = await self._conn().client.hgetall(self._key("g", grant_id))
        return self._grant_from(grant_id, cast(dict[str, str], raw))

    def _grant_from(self, grant_id: str, fields: dict[str, str]) -> Grant | None:
        if not fields or fields["rv"] == "1" or float(fields["exp"]) <= self._clock():
            return None
        d = json.loads(fields["d"])
        return Grant(
            grant_id=grant_id,
            client_id=d["client_id"],
            scope=d["scope"],
            resource=d["resource"],
            sid_ciphertext=base64.b64decode(d["sid"]),
            platform_url=d["platform_url"],
            api_v3_url=d["api_v3_url"],
            ib_client_id=d["ib_client_id"],
            user=d["user"],
            session_expires_at=float(fields["exp"]),
            created_at=d["created_at"],
            last_used_at=float(fields["lu"]),
            refresh_count=int(fields["rc"]),
            revoked=False,
        )

    async def list_grants(
        self,
        *,
        user: str | None = None,
        client_id: str | None = None,
        after: str = "",
        limit: int = 100,
    ) -> list[GrantSummary]:
        """Grants have no index here, so each page scans the namespace for their keys (like
        `sealed_values`): the cost falls on an operator's listing, never on a request, and no
        script on the sign-in path has to keep an index in step (nor can one miss grants
        written before it existed)."""
        found: list[GrantSummary] = []
        if limit <= 0:
            return found
        prefix = self._key("g", "")
        client = self._conn().client
        ids = sorted(
            {
                name[len(prefix) :]
                async for name in client.scan_iter(match=f"{prefix}*", count=1000)
                if name[len(prefix) :] > after
            }
        )
        for start in range(0, len(ids), 100):
            batch = ids[start : start + 100]
            async with client.pipeline(transaction=False) as pipe:
                for grant_id in batch:
                    pipe.hgetall(self._key("g", grant_id))
                rows = await pipe.execute()
            for grant_id, fields in zip(batch, rows, strict=True):
                grant = self._grant_from(grant_id, cast(dict[str, str], fields))
                if grant is None or (client_id is not None and grant.client_id != client_id):
                    continue
                summary = GrantSummary.of(grant)
                if user is None or summary.is_user(user):
                    found.append(summary)
                    if len(found) == limit:
                        return found
        return found

    async def touch_grant(self, grant_id: str, *, last_used_at: float, refreshed: bool) -> None:
        await self._conn().run(
            "touch_grant",
            [self._key("g", grant_id)],
            [self._ns, _num(float(last_used_at)), "1" if refreshed else "0"],
        )

    async def revoke_grant(self, grant_id: str) -> None:
        keys = [self._key("g", grant_id), self._key("gk", grant_id), self._ns + "n:rev"]
        await self._conn().run("revoke_grant", keys, [self._ns])

    async def revocation_count(self) -> int:
        value = await self._conn().client.get(self._ns + "n:rev")
        return int(value or 0)

    # -- authorization codes ---------------------------------------------------------------

    async def put_code(self, key: str, code: AuthorizationCode) -> None:
        c = code
        data = {
            "client_id": c.client_id,
            "redirect_uri": c.redirect_uri,
            "code_challenge": c.code_challenge,
            "code_challenge_method": c.code_challenge_method,
            "scope": c.scope,
            "resource": c.resource,
            "nonce": c.nonce,
        }
        await self._put_single_use(
            [self._key("c", key), self._key("gk", c.grant_id)],
            data,
            c.grant_id,
            c.expires_at,
            c.used,
        )

    async def consume_code(self, key: str) -> Consumed[AuthorizationCode]:
        raw = await self._conn().run(
            "read_single_use", [self._key("c", key)], [self._ns, _num(self._clock()), "1"]
        )
        if raw is None:
            return Consumed(None)
        first, fields = int(raw[0]), _pairs(raw[1])
        d = json.loads(fields["d"])
        code = AuthorizationCode(
            grant_id=fields["g"],
            client_id=d["client_id"],
            redirect_uri=d["redirect_uri"],
            code_challenge=d["code_challenge"],
            code_challenge_method=d["code_challenge_method"],
            scope=d["scope"],
            resource=d["resource"],
            expires_at=float(fields["exp"]),
            used=fields["u"] == "1",
            nonce=d["nonce"],
        )
        return Consumed(code, first_use=first == 1)

    # -- refresh tokens --------------------------------------------------------------------

    async def put_refresh_token(self, key: str, token: RefreshToken) -> None:
        t, now = token, self._clock()
        data = {"client_id": t.client_id, "scope": t.scope}
        until = t.successor_until
        await self._put_single_use(
            [self._key("r", key), self._key("gk", t.grant_id), self._key("rs", key)],
            data,
            t.grant_id,
            t.expires_at,
            t.used,
            "" if until is None else _num(float(until)),
            t.successor or "",
            0 if until is None else self._ttl_ms(until, now),
        )

    async def _put_single_use(
        self,
        keys: list[str],
        data: Mapping[str, object],
        grant_id: str,
        expires_at: float,
        used: bool,
        *extra: str | int,
    ) -> None:
        now = self._clock()
        await self._conn().run(
            "put_single_use",
            keys,
            [
                self._ns,
                _num(now),
                self._ttl_ms(expires_at, now),
                _json(data),
                grant_id,
                _num(expires_at),
                "1" if used else "0",
                *extra,
            ],
        )

    async def consume_refresh_token(self, key: str) -> Consumed[RefreshToken]:
        return await self._read_token(key, consume=True)

    async def get_refresh_token(self, key: str) -> RefreshToken | None:
        return (await self._read_token(key, consume=False)).record

    async def _read_token(self, key: str, *, consume: bool) -> Consumed[RefreshToken]:
        now = self._clock()
        raw = await self._conn().run(
            "read_single_use",
            [self._key("r", key), self._key("rs", key)],
            [self._ns, _num(now), "1" if consume else "0"],
        )
        if raw is None:
            return Consumed(None)
        first, fields, successor = int(raw[0]), _pairs(raw[1]), str(raw[2])
        d = json.loads(fields["d"])
        until = float(fields["su"]) if fields.get("su") else None
        token = RefreshToken(
            grant_id=fields["g"],
            client_id=d["client_id"],
            scope=d["scope"],
            expires_at=float(fields["exp"]),
            used=fields["u"] == "1",
            # Past its window the successor is gone to readers, whatever Redis's clock says.
            successor=successor if successor and until is not None and until > now else None,
            successor_until=until,
        )
        return Consumed(token, first_use=first == 1)

    async def keep_successor(self, key: str, successor: str, until: float) -> bool:
        now = self._clock()
        kept = await self._conn().run(
            "keep_successor",
            [self._key("r", key), self._key("rs", key)],
            [self._ns, _num(now), successor, _num(float(until)), self._ttl_ms(until, now)],
        )
        return bool(kept)

    # -- registered clients ----------------------------------------------------------------

    async def put_client(self, client: RegisteredClient) -> None:
        c, now = client, self._clock()
        data = {
            "client_id": c.client_id,
            "client_secret_hash": c.client_secret_hash,
            "token_endpoint_auth_method": c.token_endpoint_auth_method,
            "redirect_uris": list(c.redirect_uris),
            "grant_types": list(c.grant_types),
            "response_types": list(c.response_types),
            "scope": c.scope,
            "client_name": c.client_name,
            "client_uri": c.client_uri,
            "logo_uri": c.logo_uri,
            "client_id_issued_at": c.client_id_issued_at,
            "metadata": c.metadata,
        }
        expires = c.expires_at
        await self._conn().run(
            "put_client",
            [self._key("k", c.client_id), self._ns + "ks"],
            [
                self._ns,
                _num(now),
                "" if expires is None else self._ttl_ms(expires, now),
                _json(data),
                "" if expires is None else _num(float(expires)),
                c.client_id_issued_at,
                c.client_id,
            ],
        )

    async def get_client(self, client_id: str) -> RegisteredClient | None:
        raw = await self._conn().client.hmget(self._key("k", client_id), ["d", "exp"])
        data, exp = cast(list[str | None], raw)
        return _client_from(data, exp, self._clock())

    async def mark_client_used(self, client_id: str) -> None:
        args = [self._ns, _num(self._clock())]
        await self._conn().run("mark_client_used", [self._key("k", client_id)], args)

    async def delete_client(self, client_id: str) -> bool:
        keys = [self._key("k", client_id), self._ns + "ks"]
        return bool(
            await self._conn().run(
                "delete_client", keys, [self._ns, _num(self._clock()), client_id]
            )
        )

    async def list_clients(self) -> list[RegisteredClient]:
        raw = await self._conn().run("list_clients", [self._ns + "ks"], [self._ns])
        now = self._clock()
        found = (_client_from(raw[i], raw[i + 1], now) for i in range(0, len(raw), 2))
        return [c for c in found if c is not None]

    # -- replay cache ----------------------------------------------------------------------

    async def remember(self, key: str, expires_at: float) -> bool:
        now = self._clock()
        args: list[str | int] = [
            self._ns,
            _num(now),
            _num(float(expires_at)),
            self._ttl_ms(expires_at, now),
        ]
        return bool(await self._conn().run("remember", [self._key("p", key)], args))

    async def count_live_grants(self) -> int:
        """Live grants (not revoked, session not ended), for the metrics gauge: a scan of the
        grant keys, read in pipelined batches, at most once per scrape interval (the caller
        caches it), never on a request's path."""
        client, now = self._conn().client, self._clock()
        prefix = self._key("g", "")
        live = 0
        batch: list[str] = []

        async def count(names: list[str]) -> int:
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.hmget(name, ["exp", "rv"])
            rows = await pipe.execute()
            return sum(1 for exp, rv in rows if exp is not None and rv != "1" and float(exp) > now)

        async for name in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(name)
            if len(batch) == 500:
                live, batch = live + await count(batch), []
        if batch:
            live += await count(batch)
        return live

    # -- sealed values -----------------------------------------------------------------------

    async def sealed_values(
        self, kind: SealedKind, *, after: str = "", limit: int = 500
    ) -> list[SealedValue]:
        """Redis keeps no ordered index of these records, so each page scans the namespace for
        their keys: the cost of a maintenance command (`store reseal`), never of a request."""
        prefix = self._key(_SEALED_RECORDS[kind], "")
        client = self._conn().client
        row_keys = sorted(
            {
                name[len(prefix) :]
                async for name in client.scan_iter(match=f"{prefix}*", count=1000)
                if name[len(prefix) :] > after
            }
        )
        found: list[SealedValue] = []
        for row_key in row_keys:
            sealed = await self._sealed_of(kind, row_key)
            if sealed is not None:
                found.append(SealedValue(kind, row_key, sealed))
                if len(found) == limit:
                    break
        return found

    async def _sealed_of(self, kind: SealedKind, row_key: str) -> bytes | str | None:
        """The sealed value of one live record, as `sealed_values` lists it."""
        if kind is SealedKind.GRANT_SID:
            grant = await self.get_grant(row_key)
            return None if grant is None else bytes(grant.sid_ciphertext)
        if kind is SealedKind.REFRESH_SUCCESSOR:
            token = await self.get_refresh_token(row_key)
            return None if token is None else token.successor
        transaction = await self.get_transaction(row_key)
        if transaction is None:
            return None
        if kind is SealedKind.LOGIN_TOKEN:
            return transaction.ib_login_token
        return transaction.redirect_to

    async def replace_sealed(self, value: SealedValue, resealed: bytes | str) -> bool:
        conn, kind = self._conn(), value.kind
        if kind is SealedKind.REFRESH_SUCCESSOR:
            keys, args = [self._key("rs", value.row_key)], [str(value.sealed), str(resealed)]
            return bool(await conn.run("replace_successor", keys, args))
        if kind is SealedKind.GRANT_SID:
            member, old, new = "sid", _b64(value.sealed), _b64(resealed)
        else:
            member = "ib_login_token" if kind is SealedKind.LOGIN_TOKEN else "redirect_to"
            old, new = str(value.sealed), str(resealed)
        keys = [self._key(_SEALED_RECORDS[kind], value.row_key)]
        return bool(await conn.run("replace_sealed_member", keys, [member, old, new]))

    # -- backup and restore ------------------------------------------------------------------

    async def export_records(self) -> AsyncIterator[dict[str, Any]]:
        """Every record under the namespace exactly as stored (hashed keys, sealed values),
        each with its key relative to the namespace, its type, its value and its expiry.

        Each record is read whole, in one script; the export as a whole is not one snapshot
        (Redis has none short of its own RDB file): a record written while the export runs may
        be in it as it was before or after. The store's records refer to each other only by
        keys that readers already treat as possibly gone (an index member whose record has
        expired, a token whose grant was revoked), so a restored export is a store each record
        of which is as it was at some instant during the export."""
        conn = self._conn()
        names = sorted({n async for n in conn.client.scan_iter(match=f"{self._ns}*", count=1000)})
        for name in names:
            kind, ttl, now_ms, value = await conn.run("dump_record", [name], [])
            if kind not in _RECORD_TYPES:
                continue  # gone since the scan saw it (or not one of ours)
            ttl = int(ttl)
            if ttl == -2:
                continue
            yield {
                "key": name[len(self._ns) :],
                "type": kind,
                "value": list(value),
                "pttl": ttl if ttl >= 0 else None,
                "expires_at_ms": int(now_ms) + ttl if ttl >= 0 else None,
            }

    async def has_records(self) -> bool:
        """Whether anything at all is stored under the namespace."""
        async for _ in self._conn().client.scan_iter(match=f"{self._ns}*", count=1000):
            return True
        return False

    async def import_records(self, records: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Write exported records back under this store's namespace, each replacing its key,
        with the expiry it had (as a point in time, so the time between backup and restore
        counts); (written, skipped as expired meanwhile)."""
        conn = self._conn()
        written = skipped = 0
        for record in records:
            at = record["expires_at_ms"]
            args: list[str | int] = [record["type"], "" if at is None else int(at)]
            args.extend(str(v) for v in record["value"])
            if await conn.run("load_record", [self._ns + record["key"]], args):
                written += 1
            else:
                skipped += 1
        return written, skipped

    # -- housekeeping ----------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Nothing to do: every expiring record carries a Redis TTL and goes by itself."""
        if self._closed:
            raise StoreClosedError(f"{self!r} is closed")
        return 0

    async def ping(self) -> bool:
        try:
            return bool(await self._conn().client.ping())
        except (redis.RedisError, OSError, StoreClosedError):
            return False


# The records each kind of sealed value lives in (their key's kind), see `RedisStore._key`.
_SEALED_RECORDS = {
    SealedKind.GRANT_SID: "g",
    SealedKind.REFRESH_SUCCESSOR: "rs",
    SealedKind.LOGIN_TOKEN: "t",
    SealedKind.LOGIN_REDIRECT: "t",
}


# What a record of this store is stored as (see the layout in the module docstring).
_RECORD_TYPES = frozenset({"hash", "string", "zset"})


def _b64(value: bytes | str) -> str:
    """A sid's ciphertext as the grant's JSON holds it."""
    raw = value if isinstance(value, bytes) else value.encode("ascii")
    return base64.b64encode(raw).decode("ascii")


def _client_options() -> dict[str, Any]:
    # No `retry`: a pool's connections then re-send nothing (see the module docstring).
    return {**POOL_DEFAULTS, "decode_responses": True}


def _scrub(message: str, url: str) -> str:
    password = urlsplit(url.strip()).password
    if password:
        message = message.replace(password, "***").replace(unquote(password), "***")
    return message


def _pairs(raw: Sequence[str]) -> dict[str, str]:
    """HGETALL's answer from a script (a flat list) as a dict."""
    return {raw[i]: raw[i + 1] for i in range(0, len(raw), 2)}


def _txn_fields(t: LoginTransaction) -> tuple[str, str, str, str]:
    """What put and finish both write: the JSON of the rest, status, last poll, expiry."""
    data = {
        "client_id": t.client_id,
        "redirect_uri": t.redirect_uri,
        "state": t.state,
        "code_challenge": t.code_challenge,
        "code_challenge_method": t.code_challenge_method,
        "scope": t.scope,
        "resource": t.resource,
        "platform_url": t.platform_url,
        "ib_login_token": t.ib_login_token,
        "started_at": t.started_at,
        "error": t.error,
        "redirect_to": t.redirect_to,
        "nonce": t.nonce,
    }
    return (
        _json(data),
        LoginStatus(t.status).value,
        _num(float(t.last_polled_at)),
        _num(float(t.expires_at)),
    )


def _txn_from(fields: Mapping[str, str]) -> LoginTransaction:
    d = json.loads(fields["d"])
    return LoginTransaction(
        client_id=d["client_id"],
        redirect_uri=d["redirect_uri"],
        state=d["state"],
        code_challenge=d["code_challenge"],
        code_challenge_method=d["code_challenge_method"],
        scope=d["scope"],
        resource=d["resource"],
        expires_at=float(fields["exp"]),
        status=LoginStatus(fields["st"]),
        platform_url=d["platform_url"],
        ib_login_token=d["ib_login_token"],
        started_at=d["started_at"],
        last_polled_at=float(fields["lp"]),
        error=d["error"],
        redirect_to=d["redirect_to"],
        nonce=d["nonce"],
        address_hash=fields.get("addr"),
        submissions=int(fields["sub"]),
        ib_calls=int(fields["ib"]),
    )


def _client_from(data: str | None, exp: str | None, now: float) -> RegisteredClient | None:
    if data is None or exp is None:
        return None
    expires_at = float(exp) if exp else None
    if expires_at is not None and expires_at <= now:
        return None
    d = json.loads(data)
    return RegisteredClient(
        client_id=d["client_id"],
        client_secret_hash=d["client_secret_hash"],
        token_endpoint_auth_method=d["token_endpoint_auth_method"],
        redirect_uris=tuple(d["redirect_uris"]),
        grant_types=tuple(d["grant_types"]),
        response_types=tuple(d["response_types"]),
        scope=d["scope"],
        client_name=d["client_name"],
        client_uri=d["client_uri"],
        logo_uri=d["logo_uri"],
        client_id_issued_at=d["client_id_issued_at"],
        expires_at=expires_at,
        metadata=d["metadata"],
    )
