"""The shared address check (`outbound.AddressGuard`) and the connections pinned to it: the
platform check's table of internal addresses (IPv4 inside IPv6 included), the dev-mode trust of
exactly the emulator's origins, and the two transports (httpx for IB's browser login, aiohttp
for the proxy) connecting to the address checked, with a rebinding resolver and a listener on
loopback that records whoever reaches it."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from docserver import RecordingListener
from ib_oauth_bridge.ib.platform import HostPolicy, PlatformURLError
from ib_oauth_bridge.ib.upstream import Upstream
from ib_oauth_bridge.outbound import AddressGuard, AddressRefused, pinned_transport

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.215.14"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as opened:
        yield opened


class Resolver:
    """Answers each lookup with the next of `answers` (the last repeats), and counts them."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def policy(*addresses: str) -> HostPolicy:
    return HostPolicy(
        ("*.intelligencebank.com",), guard=AddressGuard(resolver=Resolver(list(addresses)))
    )


# The platform check ---------------------------------------------------------------------------

EMBEDDED_INTERNAL = [
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b::6440:1",  # NAT64 of CGNAT 100.64.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "127.0.0.1",
    "10.1.2.3",
    "100.64.0.1",
    "169.254.169.254",
    "fe80::1",
    "fc00::1",
    "::1",
]


@pytest.mark.parametrize("address", EMBEDDED_INTERNAL)
async def test_the_platform_check_refuses_every_internal_form(address: str) -> None:
    with pytest.raises(PlatformURLError, match="internal address"):
        await policy(address).check_resolves_publicly("https://acme.intelligencebank.com")


@pytest.mark.parametrize("address", ["::7f00:1", "64:ff9b::7f00:1"])
async def test_one_internal_address_among_public_ones_refuses_the_name(address: str) -> None:
    with pytest.raises(PlatformURLError, match="internal address"):
        await policy(PUBLIC, address).check_resolves_publicly("https://acme.intelligencebank.com")


@pytest.mark.parametrize("address", [PUBLIC, "::ffff:8.8.8.8", "64:ff9b::808:808"])
async def test_the_platform_check_accepts_public_forms(address: str) -> None:
    await policy(address).check_resolves_publicly("https://acme.intelligencebank.com")


async def test_the_reported_api_url_is_resolved_and_checked_too() -> None:
    with pytest.raises(PlatformURLError, match="internal address"):
        await policy("64:ff9b::a9fe:a9fe").check_api_url("https://api.intelligencebank.com")
    assert await policy(PUBLIC).check_api_url("https://api.intelligencebank.com/") == (
        "https://api.intelligencebank.com"
    )


# Dev mode: the emulator's origins, and only those ---------------------------------------------


async def test_only_the_configured_origins_may_be_on_loopback() -> None:
    guard = AddressGuard(
        resolver=Resolver(["127.0.0.1"]),
        trusted=("http://localhost:8001", "http://127.0.0.1:8001"),
    )
    assert await guard.addresses("localhost", 8001) == ["127.0.0.1"]
    assert await guard.addresses("127.0.0.1", 8001) == ["127.0.0.1"]
    for host, port in [("localhost", 8002), ("127.0.0.1", 8002), ("other.test", 8001)]:
        with pytest.raises(AddressRefused):
            await guard.addresses(host, port)
    with pytest.raises(AddressRefused):
        await AddressGuard(resolver=Resolver(["127.0.0.1"])).addresses("localhost", 8001)


# httpx: IB's browser-login API ----------------------------------------------------------------


async def test_the_login_transport_connects_to_the_address_it_checked(
    listener: RecordingListener,
) -> None:
    # A name no real DNS knows, trusted here so that it may be on loopback: reaching the
    # listener proves the connection goes to the resolver's answer, not to a lookup of its own.
    origin = f"http://pinned.invalid:{listener.port}"
    guard = AddressGuard(resolver=Resolver(["127.0.0.1"]), trusted=(origin,))
    async with httpx.AsyncClient(transport=pinned_transport(guard)) as client:
        with pytest.raises(httpx.HTTPError):  # the listener hangs up at once
            await client.get(f"{origin}/v1/auth/app/info")
    assert len(listener.accepted) == 1


async def test_the_login_transport_never_reaches_a_rebound_address(
    listener: RecordingListener,
) -> None:
    resolver = Resolver([PUBLIC], ["127.0.0.1"])
    guard = AddressGuard(resolver=resolver)
    await guard.addresses("acme.intelligencebank.com", listener.port)  # the platform check
    async with httpx.AsyncClient(transport=pinned_transport(guard)) as client:
        with pytest.raises(AddressRefused):
            await client.post(f"https://acme.intelligencebank.com:{listener.port}/v1/auth/app/token")
    assert resolver.lookups == 2
    assert listener.accepted == []


# aiohttp: the proxy's upstream ----------------------------------------------------------------


def upstream(guard: AddressGuard) -> Upstream:
    return Upstream(connect_timeout=2, read_timeout=2, guard=guard)


async def test_the_proxy_connects_to_the_address_it_checked(listener: RecordingListener) -> None:
    origin = f"http://pinned.invalid:{listener.port}"
    client = upstream(AddressGuard(resolver=Resolver(["127.0.0.1"]), trusted=(origin,)))
    try:
        with pytest.raises(aiohttp.ClientError):  # the listener hangs up at once
            await client.send("GET", f"{origin}/api/3.0.0/x/resource", [], None)
    finally:
        await client.aclose()
    assert listener.accepted  # aiohttp tries a dropped GET twice


async def test_the_proxy_never_reaches_a_rebound_address(listener: RecordingListener) -> None:
    resolver = Resolver([PUBLIC], ["127.0.0.1"])
    guard = AddressGuard(resolver=resolver)
    await guard.addresses("api.intelligencebank.com", listener.port)  # the check at sign-in
    client = upstream(guard)
    try:
        with pytest.raises(aiohttp.ClientConnectorDNSError):
            await client.send(
                "GET", f"https://api.intelligencebank.com:{listener.port}/api/3.0.0/x/y", [], None
            )
    finally:
        await client.aclose()
    assert resolver.lookups == 2
    assert listener.accepted == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_the_proxy_refuses_an_internal_ip_literal(
    listener: RecordingListener, host: str
) -> None:
    client = upstream(AddressGuard(resolver=Resolver([PUBLIC])))
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.send("GET", f"http://{host}:{listener.port}/api/3.0.0/x/y", [], None)
    finally:
        await client.aclose()
    assert listener.accepted == []
