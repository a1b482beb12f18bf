"""OpenTelemetry (the `otel` extra): a server span per request named by its operationId, with
the status and the request id; a client span for the proxy's call to IB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_audiences import PROXY_PATH, bearer

from ib_oauth_bridge.tracing import REQUEST_ID_ATTRIBUTE, Tracing
from inprocess_flow import tokens
from inprocess_stack import open_stack

pytestmark = pytest.mark.anyio
EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    # The global provider can be set once per process: this module's, for its tests.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ib-bridge-test")
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def test_tracing_is_off_without_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    assert Tracing.from_env() is None


async def test_a_span_per_request(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    async with open_stack(tmp_path) as stack:
        assert stack.bridge.tracing is not None
        answer = await stack.http.get("/healthz", headers={"X-Request-ID": "trace-me-1"})
        assert answer.status_code == 200
        missing = await stack.http.get("/nope")
        assert missing.status_code == 404
    by_name = {span.name: span for span in spans.get_finished_spans()}
    healthz = by_name["healthz"]
    assert healthz.kind is trace.SpanKind.SERVER
    assert healthz.attributes is not None
    assert healthz.attributes["http.response.status_code"] == 200
    assert healthz.attributes[REQUEST_ID_ATTRIBUTE] == "trace-me-1"
    assert by_name["unmatched"].attributes["http.response.status_code"] == 404


async def test_an_incoming_traceparent_is_the_parent(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"
    async with open_stack(tmp_path) as stack:
        await stack.http.get("/healthz", headers={"traceparent": parent})
    [span] = [s for s in spans.get_finished_spans() if s.name == "healthz"]
    assert f"{span.context.trace_id:032x}" == trace_id


async def test_the_upstream_call_is_a_child_span(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with open_stack(tmp_path) as stack:
        token = await tokens(stack)
        spans.clear()
        answer = await stack.http.get(PROXY_PATH, headers=bearer(token["access_token"]))
        assert answer.status_code == 502  # in-process, IB's API host is not listening
        await stack.bridge.upstream.aclose()
    finished = {span.name: span for span in spans.get_finished_spans()}
    server, client = finished["proxy_get"], finished["proxy upstream"]
    assert client.kind is trace.SpanKind.CLIENT
    assert client.parent is not None
    assert client.parent.span_id == server.context.span_id
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 502


def test_the_upstream_span_replaces_the_callers_traceparent(spans: InMemorySpanExporter) -> None:
    tracing = Tracing.from_env()
    assert tracing is not None
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = [("Accept", "application/json"), ("TraceParent", caller), ("sid", "s")]
    with tracing.upstream("GET", headers) as span:
        own = f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-"
    [sent] = [value for name, value in headers if name.lower() == "traceparent"]
    assert sent.startswith(own)
    assert ("Accept", "application/json") in headers
