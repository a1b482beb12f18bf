"""OpenTelemetry tracing, optional (`pip install 'ib-oauth-bridge[otel]'`).

On only when the OpenTelemetry packages import and an `OTEL_*` variable is set (the SDK reads
them all: `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`, ...); otherwise `from_env()`
returns None and nothing here costs anything. When on: a server span per request named by its
route's operationId (`metrics.RequestMetrics` opens and closes it), with the method, the status
and the request id (`ib_bridge.request_id`) as attributes; a client span per proxy call to IB,
whose context goes to IB in a `traceparent` header (W3C Trace Context). An incoming
`traceparent` is the server span's parent.

A tracer provider already set (by `opentelemetry-instrument`, or a test) is used as it is;
otherwise the SDK's, exporting with OTLP over HTTP when that exporter is installed.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import Scope

from .audit.context import current_request_id

log = logging.getLogger("ib_oauth_bridge.tracing")
REQUEST_ID_ATTRIBUTE = "ib_bridge.request_id"
OPERATION_ATTRIBUTE = "ib_bridge.operation"


def otel_configured(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(name.startswith("OTEL_") and value for name, value in env.items())


class Tracing:
    def __init__(self, tracer: Any, propagate: Any, trace: Any) -> None:
        self.tracer = tracer
        self._propagate = propagate
        self._trace = trace
        self._server = trace.SpanKind.SERVER
        self._client = trace.SpanKind.CLIENT

    @classmethod
    def from_env(cls) -> Tracing | None:
        if not otel_configured():
            return None
        try:
            from opentelemetry import propagate, trace
        except ImportError:
            log.warning("OTEL_* is set but the OpenTelemetry packages are not installed")
            return None
        unset = {"ProxyTracerProvider", "NoOpTracerProvider"}
        if type(trace.get_tracer_provider()).__name__ in unset:
            _install_sdk_provider(trace)
        return cls(trace.get_tracer("ib_oauth_bridge"), propagate, trace)

    def start(self, scope: Scope) -> Any:
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in (b"traceparent", b"tracestate")
        }
        parent = self._propagate.extract(carrier) if carrier else None
        method = scope.get("method", "")
        span = self.tracer.start_span(f"{method} request", context=parent, kind=self._server)
        span.set_attribute("http.request.method", method)
        request_id = current_request_id()
        if request_id is not None:
            span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        # Context for spans opened while serving (the upstream call): this task's, detached
        # when the request ends.
        token = self._attach(span)
        return (span, token)

    def _attach(self, span: Any) -> Any:
        from opentelemetry import context

        return context.attach(self._trace.set_span_in_context(span))

    def finish(self, started: Any, operation: str, status: int) -> None:
        from opentelemetry import context

        span, token = started
        span.update_name(operation)
        span.set_attribute(OPERATION_ATTRIBUTE, operation)
        if status:
            span.set_attribute("http.response.status_code", status)
        if status >= 500 or not status:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
        span.end()
        # Detached in another context (a cancelled task): nothing to undo.
        with contextlib.suppress(Exception):
            context.detach(token)

    @contextmanager
    def upstream(self, method: str, headers: list[tuple[str, str]]) -> Iterator[Any]:
        """A client span around one proxy call to IB; its `traceparent` (and `tracestate`)
        replace any the caller sent in `headers`."""
        with self.tracer.start_as_current_span("proxy upstream", kind=self._client) as span:
            span.set_attribute("http.request.method", method)
            carrier: dict[str, str] = {}
            self._propagate.inject(carrier)
            if carrier:
                names = {name.lower() for name in carrier}
                headers[:] = [(n, v) for n, v in headers if n.lower() not in names]
                headers.extend(carrier.items())
            yield span


def _install_sdk_provider(trace: Any) -> None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* is set but opentelemetry-sdk is not installed: no spans exported")
        return
    provider = TracerProvider()  # its Resource reads OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("no OTLP exporter installed (opentelemetry-exporter-otlp-proto-http)")
    else:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
