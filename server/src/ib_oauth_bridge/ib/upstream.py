"""The proxy's client to IB: aiohttp's, set up to be a proxy and nothing more.

Measured, httpcore's pool cost the proxy half its CPU (a readability check of every idle socket
on every request); aiohttp's connector keeps connections per host and hands one out in constant
time. Set up as a proxy must be: no cookie jar (one client serves every user), no redirects
followed, no environment proxies (a variable must never route sids elsewhere), no decompression
(IB's Content-Encoding reaches the caller untouched), no headers of its own (no User-Agent,
Accept or Accept-Encoding the caller did not send), the URL sent byte for byte. httpx stays for
IB's browser-login calls.

One pool serves every user, so it is shared fairly: each grant may have at most
`max_per_grant` calls in flight (`grant_slot`), strictly fewer than the pool holds (settings
check that), so one grant can never take every connection. Counts are per worker process.

Every connection goes to an address the bridge checked: the connector's resolver is
`CheckedResolver`, which answers only with the addresses `outbound.AddressGuard` accepted (a
name with any internal address is refused whole), so aiohttp never looks a name up on its own
and a rebinding name cannot reach our network between the login's check and the proxy's
connect. An IP-literal host, which aiohttp never resolves, is checked in `send`.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from ..outbound import AddressGuard, AddressRefused, parse_address


class GrantSlot:
    """One call's share of its grant's concurrency; `release()` gives it back (idempotent)."""

    __slots__ = ("_counts", "_grant_id", "_held")

    def __init__(self, counts: dict[str, int], grant_id: str) -> None:
        self._counts = counts
        self._grant_id = grant_id
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        left = self._counts[self._grant_id] - 1
        if left:
            self._counts[self._grant_id] = left
        else:
            del self._counts[self._grant_id]


# Headers aiohttp would otherwise add on its own.
NOT_OURS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver, answering only with addresses the guard checked; a refused name
    raises OSError, which aiohttp reports as ClientConnectorDNSError (a ClientError)."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await self._guard.addresses(host, port)
        except AddressRefused as refused:
            raise OSError(str(refused)) from None
        results: list[ResolveResult] = []
        for text in found:
            address = parse_address(text)
            kind = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, kind):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": kind,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not results:
            raise OSError(f"{host} has no address of the wanted family")
        return results

    async def close(self) -> None:
        pass


class Upstream:
    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int = 200,
        max_per_grant: int = 8,
        dns_cache_seconds: int = 60,
        guard: AddressGuard | None = None,
    ) -> None:
        self._guard = guard or AddressGuard()
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._max_connections = max_connections
        self.max_per_grant = max_per_grant
        self._in_flight: dict[str, int] = {}  # grant id -> calls in flight (this worker)
        self._dns_cache_seconds = dns_cache_seconds
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the worker's event loop (aiohttp binds to the running loop).
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    # Caches the resolver's answers, which are checked ones.
                    ttl_dns_cache=self._dns_cache_seconds,
                    resolver=CheckedResolver(self._guard),
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=NOT_OURS,
                requote_redirect_url=False,
            )
        return self._session

    def grant_slot(self, grant_id: str) -> GrantSlot | None:
        """A slot for one more call of this grant, or None when it has `max_per_grant` in
        flight already. No await: taking the slot cannot race within the event loop."""
        held = self._in_flight.get(grant_id, 0)
        if held >= self.max_per_grant:
            return None
        self._in_flight[grant_id] = held + 1
        return GrantSlot(self._in_flight, grant_id)

    def in_flight(self, grant_id: str) -> int:
        return self._in_flight.get(grant_id, 0)

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes] | None,
    ) -> aiohttp.ClientResponse:
        """Send the request and return IB's answer with its headers read and its body not yet.
        The caller releases it (`release()` after reading, `close()` to drop the connection).
        Raises TimeoutError (asyncio's) or aiohttp.ClientError."""
        target = URL(url, encoded=True)
        host = target.raw_host or ""
        if host[-1:].isdigit() or ":" in host:  # possibly an IP literal: no resolver sees it
            port = target.port or 0
            if _is_address(host) and not self._guard.check_literal(host, port):
                raise aiohttp.ClientConnectionError(f"{host} is an internal address")
        return await self._client().request(
            method,
            target,
            headers=headers,
            data=body,
            allow_redirects=False,
            compress=None,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _is_address(host: str) -> bool:
    try:
        parse_address(host.strip("[]"))
    except ValueError:
        return False
    return True
