"""`token_type_hint` as RFC 7009 2.1 and RFC 7662 2.1 define it: it only orders the lookups, so
a wrong or unknown hint still finds the token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


def find_token(
    token_string: str, lookups: Mapping[str, Callable[[str], T | None]], hint: str | None
) -> T | None:
    """The first token found, trying the hinted kind first and then the rest in order."""
    for kind in sorted(lookups, key=lambda name: name != hint):  # stable: the hint, then order
        token = lookups[kind](token_string)
        if token is not None:
            return token
    return None
