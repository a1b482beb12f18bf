"""Authlib request objects built from a Starlette request whose body was already read.

Authlib's grant machinery is synchronous; the handler awaits the form first, then hands these
plain objects to Authlib (the same shape as Authlib's own Flask integration).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import cached_property

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from starlette.datastructures import ImmutableMultiDict


class MultiDictPayload(OAuth2Payload):
    def __init__(self, values: ImmutableMultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return dict(self._values)

    @cached_property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._values.multi_items():
            values[key].append(value)
        return values


class StarletteOAuth2Request(OAuth2Request):
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: ImmutableMultiDict[str, str],
        form: ImmutableMultiDict[str, str] | None = None,
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._query = query
        self._form = form if form is not None else ImmutableMultiDict()
        combined = ImmutableMultiDict([*query.multi_items(), *self._form.multi_items()])
        self.payload = MultiDictPayload(combined)

    @property
    def args(self) -> dict[str, str]:
        return dict(self._query)

    @property
    def form(self) -> dict[str, str]:
        return dict(self._form)
