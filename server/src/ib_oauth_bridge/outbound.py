"""Fetching a small document from a URL someone else chose, without being turned into a proxy
into our own network (SSRF): the client ID metadata documents of `oauth.cimd` come through here.

What is refused, before and while connecting:

- URLs: anything but https (dev mode: also http on a loopback host), user info, a fragment,
  non-ASCII or control characters, more than `MAX_URL_LENGTH` characters, and an IP-literal
  host (dev mode allows only the loopback literals 127.0.0.1 and [::1]).
- Addresses: the host name is resolved once per connection, every address it resolves to must
  be public (`is_public_address`: `is_global`, judging IPv4-mapped, IPv4-compatible, NAT64,
  6to4 and Teredo addresses by the IPv4 address inside them), and the connection is then made
  to one of exactly those checked addresses. In dev mode a loopback *name* (localhost,
  127.0.0.1, ::1) may resolve to loopback addresses, and nothing else may.
- Answers: anything but 200 (a 3xx is refused: redirects are never followed), a body larger
  than `max_bytes` (the stream is cut off there; a larger Content-Length is refused unread),
  and a fetch that takes longer than `timeout` seconds in all (resolving, connecting, TLS,
  reading: one deadline).

How the address is pinned. The fetch runs on httpcore directly (not httpx), through a
connection pool made for this one fetch whose *network backend* is `PinnedBackend`. httpcore
asks its backend for a connection with the URL's host name (`AsyncHTTPConnection._connect`
calls `self._network_backend.connect_tcp(host=self._origin.host, ...)`, httpcore
1.0.9 `_async/connection.py`); our backend resolves that name, checks every address, and asks
httpcore's own `AnyIOBackend` to connect to a checked *IP address*, so no second lookup happens
that DNS rebinding could answer differently. TLS is then started by httpcore on that stream
with `server_hostname = request.extensions["sni_hostname"] or self._origin.host` (same
function), i.e. the URL's host name, which anyio passes to `ssl.SSLContext.wrap_bio(...,
server_hostname=...)` (`anyio/streams/tls.py`, `TLSStream.wrap`); with the default context's
`check_hostname=True` the certificate is verified for the name, while the socket goes to the
checked address. The Host header is the URL's own authority. Because the URL keeps its name,
no `Host`/`sni_hostname` rewriting is needed, and a retry or second connection would go
through the same check.

httpcore has no cookie jar, never reads proxy or certificate settings from the environment
(the equivalent of httpx's `trust_env=False`) and never follows redirects, which is what a
fetch of someone else's URL wants.

The same pinning serves every other connection to a host the bridge did not configure (IB's
platform and API hosts, which come from user input and from IB's answer): `AddressGuard`
resolves once and refuses a name when any of its addresses is internal (`is_public_address`,
the one definition of "internal" in the bridge), except the exact origins it was told to trust
(the emulator's, in dev mode); `PinnedBackend` connects httpcore (so httpx, through
`pinned_transport`) to the addresses the guard returned, and `ib.upstream` hands the same
guard to aiohttp as its resolver.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import certifi
import httpcore
import httpx

MAX_URL_LENGTH = 2048
DEFAULT_MAX_BYTES = 5 * 1024
DEFAULT_TIMEOUT = 5.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# IPv4-compatible addresses (RFC 4291 2.5.5.1, deprecated): ::a.b.c.d.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the addresses the host name resolves to, as text."""


class OutboundError(Exception):
    """A fetch the bridge refused or that failed. The message completes the sentence "The
    document at <url> ..." and is shown to people as it is, so it never carries an internal
    address or other detail of our own network."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined by ", "
    body: bytes


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address stands for, when it is one of the forms that carry
    one (mapped, compatible, NAT64, 6to4, Teredo's server and client); else None."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in NAT64_PREFIX or address in IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return None


def is_public_address(address: Address) -> bool:
    """Whether a connection to this address leaves for the public internet: not loopback,
    private, link-local (which includes the cloud metadata address 169.254.169.254), shared
    (CGNAT 100.64/10), multicast, reserved or unspecified, in any IPv6 form that embeds IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.packed)  # drop a %scope
        inner = embedded_ipv4(address)
        if inner is not None:
            return all(is_public_address(part) for part in inner)
    return address.is_global and not address.is_multicast and not address.is_reserved


def parse_address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str  # without brackets
    port: int
    authority: str  # for the Host header, as the URL spells it
    target: str  # path and query


class SafeFetcher:
    """GET a small document from a URL chosen by someone outside, safely (see the module)."""

    def __init__(
        self,
        *,
        dev_mode: bool = False,
        resolver: Resolver = system_resolver,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        extra_ca_file: Path | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        user_agent: str = "ib-oauth-bridge",
    ) -> None:
        self.dev_mode = dev_mode
        self.resolver = resolver
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._backend = network_backend or httpcore.AnyIOBackend()
        self._ssl_context = ssl.create_default_context(cafile=certifi.where())
        if extra_ca_file is not None:
            self._ssl_context.load_verify_locations(cafile=str(extra_ca_file))

    # The URL ------------------------------------------------------------------------------

    def check_url(self, url: str) -> None:
        """Raise OutboundError unless `url` is one this fetcher may request."""
        self._target(url)

    def _target(self, url: str) -> _Target:
        if len(url) > MAX_URL_LENGTH:
            raise OutboundError(f"has a URL longer than {MAX_URL_LENGTH} characters")
        if not url.isascii() or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
            raise OutboundError("has a URL with spaces, control or non-ASCII characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise OutboundError("has a URL that is not valid") from None
        host = (parts.hostname or "").lower()
        if not host:
            raise OutboundError("has a URL without a host")
        if "@" in parts.netloc:
            raise OutboundError("has a URL with a user name or password, which is not allowed")
        if parts.fragment or "#" in url:
            raise OutboundError("has a URL with a fragment (#), which is not allowed")
        loopback_name = self.dev_mode and host in LOOPBACK_NAMES
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback_name):
            dev = " (or, in dev mode, http:// on 127.0.0.1, localhost or [::1])"
            raise OutboundError("must be an https:// URL" + (dev if self.dev_mode else ""))
        if _is_ip_literal(host) and not loopback_name:
            raise OutboundError("has an IP address as its host; a host name is required")
        default_port = 443 if parts.scheme == "https" else 80
        return _Target(
            scheme=parts.scheme,
            host=host,
            port=port or default_port,
            authority=parts.netloc,
            target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        )

    # Addresses ----------------------------------------------------------------------------

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and return its addresses if every one of them may be
        contacted; OutboundError otherwise."""
        host = host.lower()
        loopback_name = self.dev_mode and host in LOOPBACK_NAMES
        if _is_ip_literal(host):
            if loopback_name:
                return [host]
            raise OutboundError("has an IP address as its host; a host name is required")
        try:
            found = await self.resolver(host, port)
        except (OSError, UnicodeError):
            raise OutboundError(f"could not be found ({host} does not resolve)") from None
        if not found:
            raise OutboundError(f"could not be found ({host} does not resolve)")
        for text in found:
            try:
                address = parse_address(text)
            except ValueError:
                raise OutboundError(f"could not be found ({host} does not resolve)") from None
            allowed = address.is_loopback if loopback_name else is_public_address(address)
            if not allowed and loopback_name:
                raise OutboundError(f"is on {host}, which does not resolve to a loopback address")
            if not allowed:
                raise OutboundError(
                    f"is on a host ({host}) that resolves to an internal address, which the "
                    "bridge refuses to contact"
                )
        return found

    # The fetch ----------------------------------------------------------------------------

    async def get(self, url: str) -> Fetched:
        target = self._target(url)
        try:
            with anyio.fail_after(self.timeout):
                return await self._get(url, target)
        except TimeoutError:
            raise OutboundError(f"took longer than {self.timeout:g} s to arrive") from None

    async def _get(self, url: str, target: _Target) -> Fetched:
        backend = PinnedBackend(self._backend, self.checked_addresses)
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), self.timeout)
        headers = [
            (b"Host", target.authority.encode("ascii")),
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"identity"),
            (b"User-Agent", self.user_agent.encode("ascii")),
        ]
        request_url = httpcore.URL(
            scheme=target.scheme.encode("ascii"),
            host=target.host.encode("ascii"),
            port=target.port,
            target=target.target.encode("ascii"),
        )
        try:
            async with (
                httpcore.AsyncConnectionPool(
                    ssl_context=self._ssl_context,
                    network_backend=backend,
                    max_connections=1,
                    retries=0,
                    http1=True,
                    http2=False,
                ) as pool,
                pool.stream(
                    "GET", request_url, headers=headers, extensions={"timeout": timeouts}
                ) as response,
            ):
                answer: dict[str, str] = {}
                for name, value in response.headers:
                    key = name.decode("latin-1").lower()
                    text = value.decode("latin-1")
                    answer[key] = f"{answer[key]}, {text}" if key in answer else text
                status = response.status
                if 300 <= status < 400:
                    raise OutboundError(
                        f"answered with a redirect ({status}); redirect refused: the document "
                        "must be served at its own URL"
                    )
                if status != 200:
                    raise OutboundError(f"answered {status}")
                body = await self._read(response, answer.get("content-length"))
        except httpcore.TimeoutException:
            raise OutboundError(f"took longer than {self.timeout:g} s to arrive") from None
        except httpcore.ConnectError as error:
            if isinstance(error.__cause__ or error.__context__, ssl.SSLError):
                raise OutboundError(
                    f"could not be fetched: {target.host} has no valid TLS certificate"
                ) from None
            raise OutboundError("could not be fetched: the connection failed") from None
        except (httpcore.NetworkError, httpcore.ProtocolError):
            raise OutboundError("could not be fetched: the connection failed") from None
        return Fetched(url, answer, body)

    async def _read(self, response: httpcore.Response, content_length: str | None) -> bytes:
        too_large = OutboundError(f"is larger than {self.max_bytes // 1024} KB")
        length = (content_length or "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.aiter_stream():
            body += chunk
            if len(body) > self.max_bytes:
                raise too_large  # leaving the pool drops the connection mid-stream
        return bytes(body)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between resolving and connecting:
    httpcore hands us the URL's host name, we connect to an address we checked. Whatever the
    check raises (OutboundError) leaves through httpcore and httpx untouched."""

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend,
        checked_addresses: Callable[[str, int], Awaitable[list[str]]],
    ) -> None:
        self._inner = inner
        self._checked_addresses = checked_addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        for address in await self._checked_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error or httpcore.ConnectError("no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for outbound fetches")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# Connections to hosts the bridge did not configure -------------------------------------------


class AddressRefused(OutboundError):
    """A host the bridge will not connect to: it does not resolve (`not_found`), or one of its
    addresses is internal. The message names the host, never the address."""

    def __init__(self, host: str, *, not_found: bool) -> None:
        reason = "does not resolve" if not_found else "resolves to an internal address"
        super().__init__(f"{host} {reason}")
        self.host = host
        self.not_found = not_found


def origin_key(url: str) -> tuple[str, int] | None:
    """(host, port) of an absolute http(s) URL, host lower-cased and without brackets."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


class AddressGuard:
    """Resolve a host once and return its addresses only when every one of them is public
    (`is_public_address`); a name with any internal address is refused whole, so a resolver
    answering a mix cannot slip one through. Only the exact origins in `trusted` (host and
    port: the emulator's, in dev mode) may resolve anywhere, loopback included.

    Connect to what this returns, never to the name: that is what makes a second lookup (DNS
    rebinding) impossible. `PinnedBackend` does so for httpcore and httpx, `ib.upstream` for
    aiohttp."""

    def __init__(
        self, *, resolver: Resolver = system_resolver, trusted: Iterable[str] = ()
    ) -> None:
        self.resolver = resolver
        self._trusted = frozenset(key for url in trusted if (key := origin_key(url)))

    def trusts(self, host: str, port: int) -> bool:
        return (host.lower().strip("[]"), port) in self._trusted

    def check_literal(self, host: str, port: int) -> bool:
        """For an IP-literal host (which no resolver sees): whether it may be contacted.
        False for a name."""
        try:
            address = parse_address(host.strip("[]"))
        except ValueError:
            return False
        return self.trusts(host, port) or is_public_address(address)

    async def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses of `host` (AddressRefused when it has none or any internal
        one). An IP literal is checked as it is."""
        name = host.strip("[]")
        if _is_ip_literal(name.split("%", 1)[0]):
            if self.check_literal(name, port):
                return [name]
            raise AddressRefused(name, not_found=False)
        try:
            found = await self.resolver(name, port)
        except (OSError, UnicodeError):
            raise AddressRefused(name, not_found=True) from None
        if not found:
            raise AddressRefused(name, not_found=True)
        if self.trusts(name, port):
            return found
        for text in found:
            try:
                address = parse_address(text)
            except ValueError:
                raise AddressRefused(name, not_found=True) from None
            if not is_public_address(address):
                raise AddressRefused(name, not_found=False)
        return found


def pinned_transport(
    guard: AddressGuard,
    *,
    limits: httpx.Limits = httpx.Limits(),  # noqa: B008 - immutable
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes to an address `guard` checked, TLS still
    verified for the URL's name (certifi's CAs; nothing read from the environment). A refused
    host raises AddressRefused out of the request.

    httpx has no public knob for httpcore's network backend, so the transport's connection pool
    (`_pool`, httpx 0.28 `_transports/default.py`) is replaced by one built the same way with
    ours; tests/unit/test_pinning.py fails if a new httpx stops using it."""
    transport = httpx.AsyncHTTPTransport(trust_env=False, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(cafile=certifi.where()),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        retries=0,
        network_backend=PinnedBackend(network_backend or httpcore.AnyIOBackend(), guard.addresses),
    )
    return transport
