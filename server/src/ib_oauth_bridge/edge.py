"""What every request meets first: the Host check, the issuer's origin, and HSTS.

- `IssuerHost`: a request whose Host is not the issuer's host is refused with a 400 (Starlette's
  `TrustedHostMiddleware`; in dev mode the loopback names too), and the request that passes is
  given the issuer's scheme and authority, so that every absolute URL built from it (Starlette's
  trailing-slash redirect, the URL Authlib is handed) is the issuer's, never one an attacker
  typed into a Host header or one a TLS-terminating proxy turned into http. The bridge's own
  URLs (metadata, redirects, `iss`) are built from the issuer setting in the first place.
  Liveness and readiness probes are exempt: orchestrators send them to an address, they answer
  no URL, and refusing them would keep a correct deployment from starting. So is `/metrics`
  (scrapers too address a pod, and it answers no URL; it has its own Bearer token).
- `StrictTransportSecurity`: `Strict-Transport-Security` on every answer when the issuer is
  https (outside dev mode), so that a browser never tries the bridge over http again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
HSTS = "max-age=31536000"


def issuer_host(issuer: str) -> str:
    """The issuer's host as a Host header names it (IPv6 in brackets), lower-cased."""
    host = (urlsplit(issuer).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


class IssuerHost:
    def __init__(self, app: ASGIApp, issuer: str, *, dev_mode: bool) -> None:
        parts = urlsplit(issuer)
        self.app = app
        self.scheme = parts.scheme
        self.authority = parts.netloc.encode("latin-1")
        allowed = [issuer_host(issuer), *(LOOPBACK_HOSTS if dev_mode else ())]
        self.checked = TrustedHostMiddleware(
            self._as_issuer, allowed_hosts=list(dict.fromkeys(allowed)), www_redirect=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"} or scope.get("path") in PROBE_PATHS:
            await self.app(scope, receive, send)
        else:
            await self.checked(scope, receive, send)

    async def _as_issuer(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
        scope = {
            **scope,
            "scheme": self.scheme if scope["type"] == "http" else scope["scheme"],
            "headers": [(b"host", self.authority), *headers],
        }
        await self.app(scope, receive, send)


class StrictTransportSecurity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Strict-Transport-Security"] = HSTS  # the bridge's, not IB's
            await send(message)

        await self.app(scope, receive, send_with_hsts)
