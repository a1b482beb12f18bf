"""Prometheus metrics (`IB_BRIDGE_METRICS`), through prometheus-client.

What is measured, and where (docs/operations.md, "Metrics", lists every metric):
- every request, by the operationId of its route (never the raw path: bounded label values) and
  its status: `RequestMetrics`, an ASGI middleware just inside `RequestIds`, with
  `OperationProbe` innermost to read the route Starlette matched;
- sign-ins, tokens, refresh reuse, revocations and every other audit event: `observe_audit`,
  the one subscriber of `audit.Audit`, so that nothing is counted twice or forgotten;
- the proxy's upstream calls (latency and errors by status): `handlers.proxy`;
- store calls (latency by method): `instrument_store` times each async method of the store;
- live grants: a gauge read from the store at scrape time, cached for `LIVE_GRANTS_CACHE`.

Exposure: off by default. `port:[host:]n` serves `/metrics` on a listener of its own that
`ib-oauth-bridge serve` starts (loopback unless a host is named); `bearer` serves it on the main
app, to a request that sends `IB_BRIDGE_METRICS_TOKEN` as a Bearer token (compared in constant
time). With several worker processes, prometheus-client's multiprocess mode sums them: `serve`
points `PROMETHEUS_MULTIPROC_DIR` at a directory of this run (cleaned at start) before any
worker starts, and every scrape reads the whole directory (`exposition`).
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit.events import AuditEvent, Event
from .routing import operations
from .store.protocols import GrantCounter

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LIVE_GRANTS_CACHE = 5.0  # seconds a live-grant count is reused between scrapes
# The label of a request no route matched (404, 405, a refused Host, too-large headers).
UNMATCHED = "unmatched"
# Seconds. Requests and the upstream: from a millisecond to a minute; the store: from 50 µs.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
STORE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1)

_SIGN_IN_OUTCOMES = {
    Event.LOGIN_COMPLETED: "completed",
    Event.LOGIN_FAILED: "failed",
    Event.LOGIN_CANCELLED: "cancelled",
    Event.LOGIN_EXPIRED: "expired",
}
_ISSUED = {
    Event.CODE_EXCHANGED: "authorization_code",
    Event.TOKEN_REFRESHED: "refresh_token",
    Event.TOKEN_EXCHANGED: "token_exchange",
}


class Metrics:
    """The bridge's metrics, on a registry of their own (one per app: tests build many)."""

    def __init__(self) -> None:
        _pick_value_class()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Histogram(
            "ib_bridge_http_request_duration_seconds",
            "Requests served, by the operationId of their route and their status; the _count is "
            "the number of requests.",
            ["operation", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.sign_ins_started = Counter(
            "ib_bridge_sign_ins_started_total",
            "Login transactions opened by /authorize.",
            registry=r,
        )
        self.sign_ins = Counter(
            "ib_bridge_sign_ins_total",
            "Sign-ins that ended, by outcome: completed, failed, cancelled, expired.",
            ["outcome"],
            registry=r,
        )
        self.tokens_issued = Counter(
            "ib_bridge_tokens_issued_total",
            "Token responses issued, by grant type: authorization_code, refresh_token "
            "(a refresh), token_exchange.",
            ["grant_type"],
            registry=r,
        )
        self.refresh_reuse = Counter(
            "ib_bridge_refresh_token_reuse_total",
            "Used refresh tokens presented again (outside the grace window): the grant ended.",
            registry=r,
        )
        self.code_reuse = Counter(
            "ib_bridge_code_reuse_total",
            "Used authorization codes presented again: the grant ended.",
            registry=r,
        )
        self.tokens_revoked = Counter(
            "ib_bridge_tokens_revoked_total",
            "RFC 7009 revocations by clients.",
            registry=r,
        )
        self.audit_events = Counter(
            "ib_bridge_audit_events_total",
            "Every audit event, by event name and outcome.",
            ["event", "outcome"],
            registry=r,
        )
        self.upstream = Histogram(
            "ib_bridge_proxy_upstream_duration_seconds",
            "Proxy calls to IB, from sending the request to IB's response headers, by IB's "
            "status (or timeout, unreachable).",
            ["status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "ib_bridge_proxy_upstream_errors_total",
            "Proxy calls to IB that failed: IB's 5xx answers by status, and timeout, "
            "unreachable, interrupted (the answer broke off).",
            ["status"],
            registry=r,
        )
        self.store_calls = Histogram(
            "ib_bridge_store_call_duration_seconds",
            "Store calls, by method.",
            ["method"],
            buckets=STORE_BUCKETS,
            registry=r,
        )
        self.live_grants = LiveGrants()
        self._upstream_children: dict[int, Any] = {}

    # -- audit events --------------------------------------------------------------------

    def observe_audit(self, event: AuditEvent) -> None:
        """The subscriber of `audit.Audit`: every event it writes passes here once."""
        kind = event.event
        self.audit_events.labels(kind.value, event.outcome.value).inc()
        if kind is Event.LOGIN_STARTED:
            self.sign_ins_started.inc()
        elif (outcome := _SIGN_IN_OUTCOMES.get(kind)) is not None:
            self.sign_ins.labels(outcome).inc()
        elif (grant_type := _ISSUED.get(kind)) is not None:
            self.tokens_issued.labels(grant_type).inc()
        elif kind is Event.TOKEN_REFRESH_REUSE:
            self.refresh_reuse.inc()
        elif kind is Event.CODE_REUSE:
            self.code_reuse.inc()
        elif kind is Event.TOKEN_REVOKED:
            self.tokens_revoked.inc()

    # -- the proxy's upstream -------------------------------------------------------------

    def upstream_answered(self, status: int, seconds: float) -> None:
        child = self._upstream_children.get(status)
        if child is None:  # IB's statuses: a bounded set
            child = self._upstream_children[status] = self.upstream.labels(str(status))
        child.observe(seconds)
        if status >= 500:
            self.upstream_errors.labels(str(status)).inc()

    def upstream_failed(self, reason: str, seconds: float | None = None) -> None:
        """`reason`: timeout, unreachable (no answer; `seconds` waited), or interrupted (the
        answer broke off after its headers were timed)."""
        if seconds is not None:
            self.upstream.labels(reason).observe(seconds)
        self.upstream_errors.labels(reason).inc()

    def exposition(self, live_grants: int | None) -> bytes:
        """The Prometheus text format: this process's metrics, or, in multiprocess mode, the
        sum over every worker of this run; with the live-grant gauge."""
        return exposition(self.registry, live_grants)


class LiveGrants:
    """The live-grant count, read from the store at scrape time and reused for
    `LIVE_GRANTS_CACHE` seconds (scrapes from several Prometheus servers cost one count)."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None  # (monotonic time, count)

    async def read(self, store: object) -> int | None:
        """None when the store cannot count (or fails to: a scrape never fails for it)."""
        if not isinstance(store, GrantCounter):
            return None
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < LIVE_GRANTS_CACHE:
            return self._last[1]
        try:
            count = await store.count_live_grants()
        except Exception:  # the store is down: /readyz says so; the scrape still answers
            return None
        self._last = (now, count)
        return count


def _pick_value_class() -> None:
    """prometheus-client picks single- or multiprocess values when it is first imported, and
    says the choice must hold before the first metric is made. The bridge makes its metrics
    only here, so the choice is made again here: `serve` sets the variable after the package
    (and the library) were imported."""
    if os.environ.get(MULTIPROC_ENV) and values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def exposition(own: CollectorRegistry | None, live_grants: int | None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    elif own is not None:
        registry.register(_Registry(own))
    if live_grants is not None:
        registry.register(_LiveGrants(live_grants))
    return generate_latest(registry)


class _Registry(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class _LiveGrants(Collector):
    def __init__(self, count: int) -> None:
        self.count = count

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "ib_bridge_live_grants",
            "Grants (sign-ins) neither revoked nor past their IB session end, in the store.",
            value=self.count,
        )


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an Authorization header carries the metrics token (constant-time compare).
    Without a token configured, anyone may read (the port listener on loopback)."""
    if token is None:
        return True
    if not header:
        return False
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


class MetricsListener:
    """The ASGI app of the separate listener (`IB_BRIDGE_METRICS=port:...`, started by
    `ib-oauth-bridge serve` in its main process): `GET /metrics` and nothing else. It reads
    every worker's metrics from the multiprocess directory and counts live grants in a store
    of its own, opened at first scrape."""

    def __init__(self, token: str | None, open_store: Callable[[], Any]) -> None:
        self.token = token
        self.open_store = open_store
        self.store: Any = None
        self.live_grants = LiveGrants()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope.get("headers", ()))
        if scope.get("path") != "/metrics":
            await _plain(send, 404, b"not found\n")
        elif scope.get("method") not in {"GET", "HEAD"}:
            await _plain(send, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD")])
        elif not authorized(_text(headers.get(b"authorization")), self.token):
            challenge = [(b"www-authenticate", b'Bearer realm="metrics"')]
            await _plain(send, 401, b"unauthorized\n", challenge)
        else:
            if self.store is None:
                self.store = self.open_store()
            body = exposition(None, await self.live_grants.read(self.store))
            await _plain(send, 200, body, content_type=CONTENT_TYPE.encode())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.store is not None:
                    await self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _plain(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the store's calls ---------------------------------------------------------------------

_TIMED_MARK = "_ib_bridge_timed"


def instrument_store(store: Any, histogram: Histogram) -> bool:
    """Time every public async method of `store` into `histogram` by method name, in place (so
    the store keeps its type and identity). Idempotent. False (and the store untouched) when
    its instances take no attributes (`__slots__`): then its calls go untimed."""
    if getattr(store, _TIMED_MARK, False):
        return True
    timed = {}
    for name in dir(type(store)):
        if name.startswith("_") or name == "close":
            continue
        # Static lookup: never runs a property or descriptor of the store.
        if inspect.iscoroutinefunction(inspect.getattr_static(type(store), name, None)):
            timed[name] = _timed(getattr(store, name), histogram.labels(name))
    try:
        for name, method in timed.items():
            setattr(store, name, method)
        setattr(store, _TIMED_MARK, True)
    except (AttributeError, TypeError):
        for name in timed:
            with contextlib.suppress(AttributeError):
                delattr(store, name)
        return False
    return True


def _timed(method: Callable[..., Awaitable[Any]], child: Any) -> Callable[..., Awaitable[Any]]:
    clock = time.perf_counter
    observe = child.observe

    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return await method(*args, **kwargs)
        finally:
            observe(clock() - started)

    return timed


# -- requests --------------------------------------------------------------------------------

PROBE_KEY = "ib_bridge.operation"


@dataclass(slots=True)
class _Probe:
    operation: str = UNMATCHED


class OperationIds:
    """The operationId of a matched route and method, from openapi.yaml (HEAD falls back to the
    GET of the same route, as Starlette serves it)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.by_route: dict[tuple[str, str], str] = {
            (op.route_path, op.method): op.operation_id for op in operations(spec)
        }

    def name(self, route_path: str, method: str) -> str:
        found = self.by_route.get((route_path, method))
        if found is None and method == "HEAD":
            found = self.by_route.get((route_path, "GET"))
        return found or UNMATCHED


class OperationProbe:
    """Innermost: after the router ran, write the matched route's operationId where the outer
    middleware finds it (outer middlewares may hand a copy of the scope inward)."""

    def __init__(self, app: ASGIApp, operation_ids: OperationIds) -> None:
        self.app = app
        self.operation_ids = operation_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        probe = scope.get(PROBE_KEY)
        if probe is None:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None)
            if path is not None:
                probe.operation = self.operation_ids.name(path, scope["method"])


RequestHook = Callable[[Scope, _Probe], Any]


class RequestMetrics:
    """Times each HTTP request and counts it by operationId and status. `tracing`, when set,
    opens a server span per request (`tracing.Tracing`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, tracing: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self._children: dict[tuple[str, int], Any] = {}  # labelled histograms, looked up once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        probe = _Probe()
        scope[PROBE_KEY] = probe
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span = self.tracing.start(scope) if self.tracing is not None else None
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = status or 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            key = (probe.operation, status)
            child = self._children.get(key)
            if child is None:  # first time for this pair: a bounded set (operations x statuses)
                label = str(status) if status else "none"
                child = self._children[key] = self.metrics.requests.labels(probe.operation, label)
            child.observe(elapsed)
            if span is not None:
                self.tracing.finish(span, probe.operation, status)


__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "LiveGrants",
    "Metrics",
    "MetricsListener",
    "OperationIds",
    "OperationProbe",
    "RequestMetrics",
    "authorized",
    "exposition",
    "instrument_store",
]
