"""`TokenIntrospector`: a resource server elsewhere asks the bridge whether a token is still
live (RFC 7662), so a revoked sign-in is refused there too, not only once its JWT expires.

Used by `BearerTokenBackend(..., introspector=...)`. Answers are cached for a few seconds per
token, so a busy client costs one call per period and a revocation is seen within it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

CACHE_SIZE = 4096


class IntrospectionUnavailable(Exception):
    """The bridge could not be asked (network, status, or an answer that is not RFC 7662)."""


class TokenIntrospector:
    def __init__(
        self,
        introspection_endpoint: str,
        client_id: str,
        client_secret: str,
        *,
        cache_seconds: float = 5.0,
        timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.introspection_endpoint = introspection_endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._monotonic = monotonic
        self._answers: dict[str, tuple[bool, float]] = {}
        self._http: httpx.AsyncClient | None = None

    async def is_active(self, token: str) -> bool:
        """Whether the bridge holds `token` live now (or did at most `cache_seconds` ago)."""
        now = self._monotonic()
        cached = self._answers.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        active = await self._ask(token)
        if len(self._answers) >= CACHE_SIZE:
            self._answers.pop(next(iter(self._answers)))  # the oldest entry
        self._answers[token] = (active, now + self._cache_seconds)
        return active

    async def _ask(self, token: str) -> bool:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        try:
            answer = await self._http.post(
                self.introspection_endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
            body = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise IntrospectionUnavailable(type(exc).__name__) from None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise IntrospectionUnavailable(f"status {answer.status_code}")
        return bool(body["active"])

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
