"""The spec and the router, both ways: every operation in openapi.yaml is served by the running
bridge, the routing table holds nothing the spec does not list, and `build_routes` refuses to
build from a spec and handlers that disagree."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ib_oauth_bridge.app import HANDLERS, create_app
from ib_oauth_bridge.oauth.keys import generate_signing_key
from ib_oauth_bridge.routing import (
    HTTP_METHODS,
    Operation,
    SpecMismatch,
    build_routes,
    load_spec,
    operations,
)
from ib_oauth_bridge.settings import Settings
from servers import Bridge

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC = load_spec()
OPERATIONS = operations(SPEC)


def _route_methods(routes: list[Route]) -> set[tuple[str, str]]:
    """(path, method) pairs a routing table serves; HEAD is what Starlette adds to every GET."""
    return {(route.path, method) for route in routes for method in route.methods or ()}


def _spec_methods(ops: list[Operation]) -> set[tuple[str, str]]:
    pairs = {(op.route_path, op.method) for op in ops}
    return pairs | {(path, "HEAD") for path, method in pairs if method == "GET"}


def _concrete_path(op: Operation) -> str:
    """A request path for the operation: an example or a plain value for each path parameter."""
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: _path_value(op, m.group(1)), op.path)


def _path_value(op: Operation, name: str) -> str:
    item = SPEC["paths"][op.path]
    operation = item[op.method.lower()]
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if "$ref" in parameter:
            parameter = SPEC["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter.get("in") == "path" and parameter["name"] == name:
            examples = parameter.get("schema", {}).get("examples") or ["style.css"]
            return str(examples[0])
    raise AssertionError(f"{op.operation_id}: no definition for path parameter {name}")


def _handler(name: str) -> Any:
    async def handler(request: Request) -> Response:
        return Response(name)

    return handler


def test_the_served_spec_is_the_repository_file(bridge: Bridge) -> None:
    served = httpx.get(f"{bridge.url}/openapi.yaml", timeout=10)
    assert served.status_code == 200
    assert served.text == SPEC_PATH.read_text(encoding="utf-8")
    assert yaml.safe_load(served.text) == SPEC


def test_operation_ids_are_unique_and_name_handlers() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert set(ids) == set(HANDLERS)


def test_routing_table_matches_the_spec_both_ways() -> None:
    routes = build_routes(SPEC, HANDLERS)
    served = _route_methods(routes)
    declared = _spec_methods(OPERATIONS)
    assert served - declared == set(), "routes the spec does not list"
    assert declared - served == set(), "spec operations without a route"
    # One route per (path, handler), named after one of its operations.
    assert {route.name for route in routes} <= set(HANDLERS)


async def _run_lifespan(app: Any) -> None:
    async with app.router.lifespan_context(app):
        pass


def test_the_app_routes_only_spec_operations(tmp_path: Path) -> None:
    """The routing table of the application object the server runs, not only build_routes'
    output: nothing added beside the spec (a mount, a debug route)."""
    logger = logging.getLogger("ib_oauth_bridge")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    env = {
        "IB_BRIDGE_DEV": "1",
        "IB_BRIDGE_ISSUER": "http://127.0.0.1:9",
        "IB_BRIDGE_DATA_DIR": str(tmp_path),
        "IB_BRIDGE_SIGNING_KEY": json.dumps(generate_signing_key().as_dict(private=True)),
        "IB_BRIDGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "IB_BRIDGE_COOKIE_SECRET": secrets.token_urlsafe(32),
    }
    try:
        app = create_app(Settings.from_env(env))
        routes = list(app.routes)
        asyncio.run(_run_lifespan(app))  # closes what the app opened (store, IB clients)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    assert all(isinstance(route, Route) for route in routes), routes
    assert _route_methods(routes) == _spec_methods(OPERATIONS)
    assert {route.name for route in routes} <= set(HANDLERS)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_operation_is_reachable(bridge: Bridge, op: Operation) -> None:
    """The router has the method the spec declares: no 404 / 405 from routing.

    A handler may itself answer 404 (static_asset for a missing file, the playground outside dev
    mode) or IB's 404 through the proxy; those carry the bridge's JSON error body and are told
    apart from the router's by `error_description`."""
    response = httpx.request(op.method, bridge.url + _concrete_path(op), timeout=10)
    assert response.status_code != 405, (op.operation_id, response.text)
    if response.status_code == 404:
        # Starlette's router answers 404 with the detail "Not Found".
        assert response.json().get("error_description") != "Not Found", op.operation_id


def test_an_undeclared_method_is_refused(bridge: Bridge) -> None:
    """The reverse, over HTTP: a method the spec does not declare on a path gets 405."""
    declared: dict[str, set[str]] = {}
    for op in OPERATIONS:
        declared.setdefault(op.path, set()).add(op.method)
    refused = 0
    for op in OPERATIONS:
        methods = declared[op.path] | ({"HEAD"} if "GET" in declared[op.path] else set())
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in methods:
                continue
            response = httpx.request(method, bridge.url + _concrete_path(op), timeout=10)
            assert response.status_code == 405, (method, op.path, response.status_code)
            refused += 1
    assert refused > 0


def test_build_routes_refuses_a_spec_operation_without_handler() -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/healthz"]["get"]["operationId"] = "healthz_renamed"
    with pytest.raises(SpecMismatch, match="healthz_renamed"):
        build_routes(spec, HANDLERS)


def test_build_routes_refuses_a_handler_the_spec_does_not_list() -> None:
    spec = copy.deepcopy(SPEC)
    del spec["paths"]["/readyz"]
    with pytest.raises(SpecMismatch, match="readyz"):
        build_routes(spec, HANDLERS)


def test_build_routes_refuses_an_extra_handler() -> None:
    handlers = {**HANDLERS, "not_in_the_spec": _handler("extra")}
    with pytest.raises(SpecMismatch, match="not_in_the_spec"):
        build_routes(SPEC, handlers)


def test_build_routes_refuses_a_missing_handler() -> None:
    handlers = {name: h for name, h in HANDLERS.items() if name != "jwks"}
    with pytest.raises(SpecMismatch, match="jwks"):
        build_routes(SPEC, handlers)


def test_build_routes_accepts_a_consistent_subset() -> None:
    """Removing an operation from both sides is consistent: the route goes, nothing else."""
    spec = copy.deepcopy(SPEC)
    del spec["paths"]["/readyz"]
    handlers = {name: h for name, h in HANDLERS.items() if name != "readyz"}
    routes = build_routes(spec, handlers)
    assert "/readyz" not in {route.path for route in routes}
    assert _route_methods(routes) == _spec_methods(operations(spec))


def test_spec_declares_only_known_methods() -> None:
    """An operation under a method key operations() ignores (e.g. `trace`) would never be routed."""
    for path, item in SPEC["paths"].items():
        for key, value in item.items():
            if isinstance(value, dict) and "operationId" in value:
                assert key in HTTP_METHODS, (path, key)
