"""/metrics: the values after a flow, the Bearer secret in front of it, and /readyz while the
store is unreachable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_audiences import PROXY_PATH, bearer

from inprocess_flow import CLIENT_ID, authorize, refresh, tokens
from inprocess_stack import Stack, open_stack

TOKEN = "metrics-token-0123456789abcdef"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"metrics": "bearer", "metrics_token": TOKEN}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(stack: Stack) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = await stack.http.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


async def test_a_flow_is_counted(stack: Stack) -> None:
    first = await tokens(stack)  # sign-in 1: a code exchanged
    rotated = await refresh(stack, first["refresh_token"])
    assert rotated.status_code == 200
    stack.clock.advance(stack.settings.refresh_grace_seconds + 1)
    reused = await refresh(stack, first["refresh_token"])  # reuse: grant 1 ends
    assert reused.status_code == 400
    second = await tokens(stack)  # sign-in 2
    proxied = await stack.http.get(PROXY_PATH, headers=bearer(second["access_token"]))
    assert proxied.status_code == 502  # in-process, IB's API host is not listening
    third = await tokens(stack)  # sign-in 3, revoked by its client
    revoked = await stack.http.post(
        "/revoke", data={"token": third["refresh_token"], "client_id": CLIENT_ID}
    )
    assert revoked.status_code == 200

    found = await scrape(stack)
    assert value(found, "ib_bridge_sign_ins_started_total") == 3
    assert value(found, "ib_bridge_sign_ins_total", outcome="completed") == 3
    assert value(found, "ib_bridge_sign_ins_total", outcome="failed") == 0
    issued = "ib_bridge_tokens_issued_total"
    assert value(found, issued, grant_type="authorization_code") == 3
    assert value(found, issued, grant_type="refresh_token") == 1
    assert value(found, "ib_bridge_refresh_token_reuse_total") == 1
    assert value(found, "ib_bridge_tokens_revoked_total") == 1
    assert (
        value(found, "ib_bridge_audit_events_total", event="token.revoked", outcome="success") == 1
    )
    # Requests by operationId and status, never by raw path.
    requests = "ib_bridge_http_request_duration_seconds_count"
    assert value(found, requests, operation="token", status="200") == 4
    assert value(found, requests, operation="token", status="400") == 1
    assert value(found, requests, operation="revoke", status="200") == 1
    assert value(found, requests, operation="proxy_get", status="502") == 1
    assert not any("/" in dict(labels).get("operation", "") for _, labels in found)
    # The proxy's upstream: one call, no answer.
    upstream = "ib_bridge_proxy_upstream_duration_seconds_count"
    assert value(found, upstream, status="unreachable") == 1
    assert value(found, "ib_bridge_proxy_upstream_errors_total", status="unreachable") == 1
    # Store calls by method: three codes consumed, two refresh tokens.
    store = "ib_bridge_store_call_duration_seconds_count"
    assert value(found, store, method="consume_code") == 3
    assert value(found, store, method="consume_refresh_token") == 2
    assert value(found, store, method="get_grant") >= 1
    # Live grants: sign-in 2 only (1 reused, 3 revoked).
    assert value(found, "ib_bridge_live_grants") == 1
    await stack.bridge.upstream.aclose()


async def test_unmatched_paths_share_one_label(stack: Stack) -> None:
    for path in ("/nope", "/nope/2", "/x?y=1"):
        assert (await stack.http.get(path)).status_code == 404
    found = await scrape(stack)
    requests = "ib_bridge_http_request_duration_seconds_count"
    assert value(found, requests, operation="unmatched", status="404") == 3


async def test_a_sign_in_without_exchange_counts_no_token(stack: Stack) -> None:
    await authorize(stack)
    found = await scrape(stack)
    assert value(found, "ib_bridge_sign_ins_total", outcome="completed") == 1
    assert value(found, "ib_bridge_tokens_issued_total", grant_type="authorization_code") == 0


async def test_live_grants_are_cached_between_scrapes(stack: Stack) -> None:
    assert value(await scrape(stack), "ib_bridge_live_grants") == 0
    await tokens(stack)
    assert value(await scrape(stack), "ib_bridge_live_grants") == 0  # within the cache
    stack.bridge.metrics.live_grants._last = None  # as if the cache time had passed
    assert value(await scrape(stack), "ib_bridge_live_grants") == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"],
)
async def test_metrics_need_the_token(stack: Stack, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await stack.http.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert answer.json()["error"] == "invalid_token"
    assert "ib_bridge" not in answer.text


async def test_metrics_answer_whatever_the_host(stack: Stack) -> None:
    answer = await stack.http.get("/metrics", headers={**SCRAPE, "Host": "10.0.0.7:8000"})
    assert answer.status_code == 200


@pytest.mark.parametrize("mode", ["off", "port:9464"])
async def test_metrics_are_not_on_the_main_app_unless_bearer(tmp_path: Path, mode: str) -> None:
    async with open_stack(tmp_path, metrics=mode, metrics_token=TOKEN) as stack:
        answer = await stack.http.get("/metrics", headers=SCRAPE)
        assert answer.status_code == 404
        assert "ib_bridge" not in answer.text


async def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        assert stack.settings.metrics == "off"
        assert (await stack.http.get("/metrics")).status_code == 404


# -- /readyz while the store is unreachable ------------------------------------------------


@contextlib.contextmanager
def unreachable(stack: Stack) -> Iterator[None]:
    """The store's connection fails every call, as a lost disk or network would."""

    def failing(*args: object, **kwargs: object) -> Any:
        raise OSError("the store is unreachable")

    store: Any = stack.bridge.store
    saved = {name: getattr(store, name) for name in ("ping", "_conn")}
    store._conn = failing
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(store, name, method)


async def test_readyz_fails_while_the_store_is_unreachable(stack: Stack) -> None:
    assert (await stack.http.get("/readyz")).status_code == 200
    with unreachable(stack):
        answer = await stack.http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "not_ready",
            "checks": {"store": "failing", "keys": "ok"},
        }
        # A scrape still answers (without the live-grant gauge).
        stack.bridge.metrics.live_grants._last = None
        found = await scrape(stack)
        assert ("ib_bridge_live_grants", frozenset()) not in found
    assert (await stack.http.get("/readyz")).status_code == 200
