"""`TrustedProxies`: forwarded headers believed only from the reverse proxies the operator named.

Behind a TLS-terminating reverse proxy the connection's peer is the proxy, so every user would
share one rate-limit allowance, one pending-login cap and one address in the audit log. The
proxy says who the client was in `X-Forwarded-For` (or RFC 7239 `Forwarded`); but anyone can
send those headers, so they are read only when the peer is in `IB_BRIDGE_TRUSTED_PROXIES`:

- the client address (the ASGI scope's `client`, which every limit, the audit log and the fraud
  rules read) becomes the rightmost address in the chain that is not itself a trusted proxy:
  the one the outermost trusted proxy saw. Addresses to its left were written by the client
  and are never believed. A hop that is not an IP address (`unknown`, an obfuscated name,
  garbage) ends the walk and the peer's address is kept.
- When both `X-Forwarded-For` and `Forwarded` arrive and name different clients, one of them
  passed through the proxy from the caller unread: neither is believed (the peer's address).
- `X-Forwarded-Host` (or `Forwarded: host=`) replaces the Host header, which `edge.IssuerHost`
  then still requires to be the issuer's; `X-Forwarded-Proto` sets the scheme, which IssuerHost
  replaces by the issuer's anyway. Every URL the bridge writes is built from the issuer setting.

Whoever the peer is, the forwarding headers are removed from the request before anything else
reads it, so no handler can ever trust a caller-chosen one by mistake. This middleware runs
outermost, before `RequestIds` records the address for log lines and audit events.

The ASGI servers' own proxy-header handling must be off (uvicorn's `--no-proxy-headers`, which
`ib-oauth-bridge serve` sets): uvicorn otherwise believes `X-Forwarded-For` from 127.0.0.1
before the app sees the request (docs/operations.md, "Deployment").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = frozenset(
    {b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"}
)
# One `key=value` pair of a Forwarded element; the value a token or a quoted string.
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,255}")


def parse_address(value: str) -> Address | None:
    """An IP address from a forwarded hop: `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `"[::1]:80"`,
    `::1`; None for anything else. IPv4-mapped IPv6 addresses become IPv4."""
    text = value.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """RFC 7239 elements, in order, as lower-cased key -> unquoted value; None when the header
    does not parse (then nothing in it is believed)."""
    elements: list[dict[str, str]] = []
    position = 0
    current: dict[str, str] = {}
    while position < len(value):
        match = _PAIR.match(value, position)
        if match is None:
            return None
        raw = match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        current[match.group(1).lower()] = raw
        position = match.end()
        if position < len(value):
            separator = value[position]
            position += 1
            if separator == ",":
                elements.append(current)
                current = {}
            elif separator != ";":
                return None
    elements.append(current)
    return elements


class TrustedProxies:
    def __init__(self, app: ASGIApp, proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry.strip(), strict=False) for entry in proxies
        )

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        forwarded: dict[bytes, list[str]] = {}
        headers: list[tuple[bytes, bytes]] = []
        for name, value in scope["headers"]:
            if name in FORWARDING_HEADERS:
                forwarded.setdefault(name, []).append(value.decode("latin-1"))
            else:
                headers.append((name, value))
        if not forwarded:
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": headers}
        client = scope.get("client")
        if client and self.networks and self.trusted(parse_address(str(client[0]))):
            scope = self._forwarded_scope(scope, forwarded)
        await self.app(scope, receive, send)

    def _forwarded_scope(self, scope: Scope, forwarded: dict[bytes, list[str]]) -> Scope:
        """`scope` as the trusted proxy saw the request: the client, Host and scheme."""
        elements: list[dict[str, str]] | None = []
        for value in forwarded.get(b"forwarded", []):
            parsed = parse_forwarded(value)
            elements = None if parsed is None or elements is None else elements + parsed
        xff = [hop for value in forwarded.get(b"x-forwarded-for", []) for hop in value.split(",")]
        candidates = []
        if xff:
            candidates.append(self._client_of(xff))
        if forwarded.get(b"forwarded"):
            fors = [element.get("for", "") for element in elements or [{}]]
            candidates.append(self._client_of(fors) if elements is not None else None)
        client = candidates[0] if candidates and len(set(candidates)) == 1 else None
        if client is not None:
            port = scope["client"][1] if scope.get("client") else 0
            scope = {**scope, "client": (str(client), port)}
        last = elements[-1] if elements else {}
        host = _last(forwarded.get(b"x-forwarded-host")) or last.get("host")
        if host and _HOST.fullmatch(host):
            others = [(name, value) for name, value in scope["headers"] if name != b"host"]
            scope = {**scope, "headers": [(b"host", host.encode("latin-1")), *others]}
        proto = (_last(forwarded.get(b"x-forwarded-proto")) or last.get("proto") or "").lower()
        if proto in {"http", "https"} and scope["type"] == "http":
            scope = {**scope, "scheme": proto}
        return scope

    def _client_of(self, hops: list[str]) -> Address | None:
        """The rightmost hop that is not a trusted proxy; None when a hop on the way is not
        an address or every hop is a trusted proxy."""
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                return None
            if not self.trusted(address):
                return address
        return None


def _last(values: list[str] | None) -> str | None:
    """The last comma-separated entry of a list-valued header (the nearest proxy's)."""
    if not values:
        return None
    entries = [entry.strip() for value in values for entry in value.split(",") if entry.strip()]
    return entries[-1] if entries else None
