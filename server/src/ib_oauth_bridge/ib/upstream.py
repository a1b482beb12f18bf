"""The proxy's client to IB: aiohttp's, set up to be a proxy and nothing more.

Measured, httpcore's pool cost the proxy half its CPU (a readability check of every idle socket
on every request); aiohttp's connector keeps connections per host and hands one out in constant
time. Set up as a proxy must be: no cookie jar (one client serves every user), no redirects
followed, no environment proxies (a variable must never route sids elsewhere), no decompression
(IB's Content-Encoding reaches the caller untouched), no headers of its own (no User-Agent,
Accept or Accept-Encoding the caller did not send), the URL sent byte for byte. httpx stays for
IB's browser-login calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

# Headers aiohttp would otherwise add on its own.
NOT_OURS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class Upstream:
    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int = 200,
        dns_cache_seconds: int = 60,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._max_connections = max_connections
        self._dns_cache_seconds = dns_cache_seconds
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the worker's event loop (aiohttp binds to the running loop).
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    ttl_dns_cache=self._dns_cache_seconds,
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=NOT_OURS,
                requote_redirect_url=False,
            )
        return self._session

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
        return await self._client().request(
            method,
            URL(url, encoded=True),
            headers=headers,
            data=body,
            allow_redirects=False,
            compress=None,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
