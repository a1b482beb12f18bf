"""Authlib request objects built from parameters the HTTP layer has already read.

Authlib's grant machinery is synchronous; the handler awaits the body first, then hands these
plain objects to Authlib (the same shape as Authlib's own Flask integration). Nothing here knows
of Starlette: parameters arrive as (name, value) pairs, in order, repeats kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request

Params = Sequence[tuple[str, str]]


class PairsPayload(OAuth2Payload):
    def __init__(self, pairs: Params) -> None:
        self._pairs = tuple(pairs)

    @cached_property
    def data(self) -> dict[str, str]:
        # The last value wins, as in Starlette's multidicts; repeats that matter are refused
        # before Authlib reads them (see `repeated_parameter`).
        return dict(self._pairs)

    @cached_property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._pairs:
            values[key].append(value)
        return values


class BridgeOAuth2Request(OAuth2Request):
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: Params = (),
        form: Params = (),
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._query = tuple(query)
        self._form = tuple(form)
        self.payload = PairsPayload([*self._query, *self._form])
        # Set by Authlib's `after_authenticate_client` signal (server.send_signal): the client
        # that proved who it is at /token, and whether it did so with a secret.
        self.authenticated_client_id: str | None = None
        self.authenticated_with_secret = False

    @property
    def args(self) -> dict[str, str]:
        return dict(self._query)

    @property
    def form(self) -> dict[str, str]:
        return dict(self._form)

    def repeated_parameter(self) -> str | None:
        """RFC 6749 3.1/3.2: request parameters MUST NOT be included more than once."""
        for name, values in self.payload.datalist.items():
            if len(values) > 1:
                return name
        return None


class _JsonObjectPayload(JsonPayload):
    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = dict(data)

    @property
    def data(self) -> dict[str, object]:
        return self._data


class BridgeJsonRequest(JsonRequest):
    """A JSON request (dynamic client registration) whose body the HTTP layer has already read
    and parsed into an object."""

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], data: Mapping[str, object]
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = _JsonObjectPayload(data)
        self.credential: object = None  # what authenticated the request (Authlib sets it)
        self.client_metadata: dict[str, Any] = {}  # the validated metadata, once extracted
