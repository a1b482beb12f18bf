"""The routing table, built from openapi.yaml: every operationId names its handler.

`build_routes` refuses to start when the spec names an operation that has no handler, or a
handler exists that the spec does not name: the contract and the code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]
HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")


class SpecMismatch(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str
    path: str  # as written in the spec, e.g. /proxy/{path}
    route_path: str  # for Starlette, e.g. /proxy/{path:path}


@cache
def spec_text() -> str:
    return resources.files("ib_oauth_bridge").joinpath("openapi.yaml").read_text("utf-8")


@cache
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(spec_text())
    return spec


def operations(spec: Mapping[str, Any]) -> list[Operation]:
    found = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append(
                Operation(
                    operation["operationId"],
                    method.upper(),
                    path,
                    _route_path(spec, path, item, operation),
                )
            )
    return found


def _route_path(
    spec: Mapping[str, Any], path: str, item: Mapping[str, Any], operation: Mapping[str, Any]
) -> str:
    """`{name}` becomes `{name:path}` where the parameter says `x-path-converter: path`."""
    parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
    for parameter in (_resolve(spec, p) for p in parameters):
        if parameter.get("in") == "path" and parameter.get("x-path-converter") == "path":
            name = parameter["name"]
            path = path.replace(f"{{{name}}}", f"{{{name}:path}}")
    return path


def _resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` such as `#/components/parameters/ProxyPath`."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def build_routes(
    spec: Mapping[str, Any],
    handlers: Mapping[str, Handler],
    middleware: Mapping[str, Sequence[Middleware]] | None = None,
) -> list[Route]:
    """One Starlette route per (path, handler), methods gathered from the spec."""
    ops = operations(spec)
    named = {op.operation_id for op in ops}
    missing = sorted(named - handlers.keys())
    unused = sorted(handlers.keys() - named)
    if missing or unused:
        raise SpecMismatch(
            f"spec operations without handler: {missing}; handlers not in the spec: {unused}"
        )
    grouped: dict[tuple[str, Handler], list[Operation]] = {}
    for op in ops:
        grouped.setdefault((op.route_path, handlers[op.operation_id]), []).append(op)
    routes = []
    for (route_path, handler), group in grouped.items():
        methods = sorted({op.method for op in group})
        route_middleware: list[Middleware] = []
        for op in group:
            for item in (middleware or {}).get(op.operation_id, ()):
                if item not in route_middleware:
                    route_middleware.append(item)
        routes.append(
            Route(
                route_path,
                handler,
                methods=methods,
                name=group[0].operation_id,
                middleware=route_middleware or None,
            )
        )
    return routes
