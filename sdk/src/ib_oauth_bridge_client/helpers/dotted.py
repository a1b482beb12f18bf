"""IB's dotted list syntax, built safely: ``resource.limit(0,100).order(lastUpdateTime:-1)`` and
``searchParams[...]`` query parameters. Inputs are validated so nothing can be injected into the
path (parentheses, commas, dots in the wrong place) or the query."""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_LIMIT = 1000  # IB caps a page at this many rows

_ENTITY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIONS = {"1": 1, "-1": -1, "asc": 1, "desc": -1}


def _non_negative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def order_keys(order: str) -> list[tuple[str, int]]:
    """Parse ``"field:-1"``, ``"field:1"``, ``"-field"``, ``"field"`` (ascending), ``asc``/``desc``,
    or several of them separated by commas, into (field, direction) pairs."""
    if not isinstance(order, str) or not order.strip():
        raise ValueError("order must be a non-empty string like 'lastUpdateTime:-1'")
    keys = []
    for part in order.split(","):
        text = part.strip()
        direction = 1
        if ":" in text:
            text, _, raw = text.partition(":")
            if raw.strip().lower() not in _DIRECTIONS:
                raise ValueError(f"order direction must be 1, -1, asc or desc, got {raw!r}")
            direction = _DIRECTIONS[raw.strip().lower()]
        elif text.startswith("-"):
            text, direction = text[1:], -1
        text = text.strip()
        if not _FIELD.fullmatch(text):
            raise ValueError(f"invalid order field {text!r}")
        keys.append((text, direction))
    return keys


def list_call(entity: str, *, offset: int = 0, limit: int = 100, order: str | None = None) -> str:
    """The path segment of a list call, e.g. ``resource.limit(0,100).order(name:1)``.

    Raises:
        ValueError: an invalid entity, a non-int or negative offset, a limit outside 1..1000, or
            an order that is not ``field[:1|-1]`` (commas separate several keys).
    """
    if not isinstance(entity, str) or not _ENTITY.fullmatch(entity):
        raise ValueError(f"invalid entity name {entity!r}")
    offset = _non_negative_int(offset, "offset")
    limit = _non_negative_int(limit, "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
    call = f"{entity}.limit({offset},{limit})"
    if order is not None:
        keys = order_keys(order)
        call += ".order(" + ",".join(f"{name}:{direction}" for name, direction in keys) + ")"
    return call


def search_params(keywords: str | None, params: Mapping[str, object]) -> dict[str, str]:
    """``searchParams[name]=value`` query parameters. Values may be str, int or bool (sent as
    ``true``/``false``); None values are skipped.

    Raises:
        ValueError: a parameter name that is not an identifier, or a value of another type.
    """
    query: dict[str, str] = {}
    if keywords is not None:
        if not isinstance(keywords, str):
            raise ValueError("keywords must be a string")
        query["searchParams[keywords]"] = keywords
    for name, value in params.items():
        if not _PARAM.fullmatch(name):
            raise ValueError(f"invalid search parameter name {name!r}")
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | str):
            text = str(value)
        else:
            raise ValueError(f"search parameter {name} must be str, int or bool")
        query[f"searchParams[{name}]"] = text
    return query
