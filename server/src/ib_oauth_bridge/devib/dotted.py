"""Parser for IB's dotted call syntax, e.g. `resource.limit(0,100).order(lastUpdateTime:-1)`.

The grammar: an entity name, then any number of `.method(args)` calls, each method at most once.
`limit(n)` or `limit(offset,n)`; `order(field:1|-1[,field:1|-1...])`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_LIMIT = 100
# IB pages lists; a client asking for more than this silently gets this many.
MAX_LIMIT = 1000

_ENTITY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CALL = re.compile(r"\.([A-Za-z]+)\(([^()]*)\)")
_ORDER_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*):(-1|1)")


class DottedSyntaxError(ValueError):
    """The segment does not follow the dotted call syntax; the API answers 400."""


@dataclass(frozen=True)
class ListQuery:
    entity: str
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    order: tuple[tuple[str, int], ...] = field(default_factory=tuple)


def _int(text: str, what: str) -> int:
    text = text.strip()
    # The length cap keeps int() away from Python's digit limit (a ValueError of its own).
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise DottedSyntaxError(f"{what} must be a non-negative integer, got {text!r}")
    return int(text)


def parse(segment: str) -> ListQuery:
    entity_match = _ENTITY.match(segment)
    if entity_match is None:
        raise DottedSyntaxError(f"expected an entity name at the start of {segment!r}")
    entity = entity_match.group(0)
    offset, limit = 0, DEFAULT_LIMIT
    order: tuple[tuple[str, int], ...] = ()
    seen: set[str] = set()
    pos = entity_match.end()
    while pos < len(segment):
        call = _CALL.match(segment, pos)
        if call is None:
            raise DottedSyntaxError(f"expected .method(args) at position {pos} of {segment!r}")
        method, args = call.group(1), call.group(2)
        if method in seen:
            raise DottedSyntaxError(f"{method}() given more than once")
        seen.add(method)
        if method == "limit":
            parts = args.split(",")
            if len(parts) == 1:
                limit = _int(parts[0], "limit")
            elif len(parts) == 2:
                offset, limit = _int(parts[0], "offset"), _int(parts[1], "limit")
            else:
                raise DottedSyntaxError("limit() takes (limit) or (offset,limit)")
        elif method == "order":
            keys = []
            for part in args.split(","):
                key = _ORDER_KEY.fullmatch(part.strip())
                if key is None:
                    raise DottedSyntaxError(f"order() expects field:1 or field:-1, got {part!r}")
                keys.append((key.group(1), int(key.group(2))))
            order = tuple(keys)
        else:
            raise DottedSyntaxError(f"unknown method {method}()")
        pos = call.end()
    return ListQuery(entity=entity, offset=offset, limit=min(limit, MAX_LIMIT), order=order)
