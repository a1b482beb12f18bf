"""outbound.SafeFetcher: which addresses count as public, which URLs may be fetched, and the
fetch itself against real loopback servers: DNS rebinding cannot reach a listener on
127.0.0.1, redirects are refused, bodies are capped, slow answers are cut off, and TLS verifies
the certificate for the name while the socket goes to the checked address."""

from __future__ import annotations

import ipaddress
import json
import ssl
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import pytest
import trustme

from docserver import DocumentServer, RecordingListener, Route
from ib_oauth_bridge import outbound
from ib_oauth_bridge.outbound import OutboundError, SafeFetcher, is_public_address

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Addresses -----------------------------------------------------------------------------------

INTERNAL = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # CGNAT (shared address space)
    "100.127.255.254",
    "169.254.169.254",  # cloud metadata
    "169.254.1.1",  # link-local
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",  # multicast
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::7f00:1",  # IPv4-compatible ::127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible ::169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::6440:1",  # NAT64 of 100.64.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, server 65.54.227.120, client 8.8.8.8
]


@pytest.mark.parametrize("text", INTERNAL)
def test_internal_addresses_are_refused(text: str) -> None:
    assert not is_public_address(outbound.parse_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert is_public_address(outbound.parse_address(text))


def test_embedded_ipv4_forms_are_unwrapped() -> None:
    # Python alone calls these global; only the IPv4 inside says where they lead.
    assert ipaddress.ip_address("::7f00:1").is_global
    assert ipaddress.ip_address("64:ff9b::7f00:1").is_global
    assert ipaddress.ip_address("2002:7f00:1::").is_global
    unwrapped = outbound.embedded_ipv4(ipaddress.IPv6Address("64:ff9b::7f00:1"))
    assert unwrapped == [ipaddress.IPv4Address("127.0.0.1")]


# URLs ----------------------------------------------------------------------------------------

REFUSED_URLS = {
    "http://docs.example/client.json": "must be an https:// URL",
    "ftp://docs.example/client.json": "must be an https:// URL",
    "https://user:pw@docs.example/client.json": "user name or password",
    "https://user@docs.example/client.json": "user name or password",
    "https://docs.example/client.json#x": "fragment",
    "https://10.0.0.1/client.json": "IP address",
    "https://127.0.0.1/client.json": "IP address",
    "https://[::1]/client.json": "IP address",
    "https://[::ffff:7f00:1]/client.json": "IP address",
    "https://docs.example/" + "a" * 2100: "longer than 2048",
    "https://docs.example/ client.json": "spaces, control or non-ASCII",
    "https://dócs.example/client.json": "spaces, control or non-ASCII",
    "https:///client.json": "without a host",
    "https://docs.example:99999/client.json": "not valid",
    "http://localhost/client.json": "must be an https:// URL",  # not in dev mode
}


@pytest.mark.parametrize(("url", "message"), REFUSED_URLS.items())
def test_refused_urls(url: str, message: str) -> None:
    with pytest.raises(OutboundError, match=message):
        SafeFetcher().check_url(url)


def test_dev_mode_allows_loopback_names_only() -> None:
    dev = SafeFetcher(dev_mode=True)
    for url in (
        "http://127.0.0.1:8000/c.json",
        "http://localhost:1/c.json",
        "http://[::1]:9/c.json",
        "https://127.0.0.1:8443/c.json",
        "https://docs.example/c.json",
    ):
        dev.check_url(url)
    for url in ("http://docs.example/c.json", "http://10.0.0.1/c.json", "https://10.0.0.1/c"):
        with pytest.raises(OutboundError):
            dev.check_url(url)


# SSRF: the connection actually made ------------------------------------------------------


class Resolver:
    """An injected DNS: the answers for each successive lookup."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's real backend, recording every address a connection is asked for. A public
    address stands for the internet and is unreachable here; a loopback one connects."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[str] = []
        self.redirect_public_to: int | None = None  # a loopback port standing in for the host

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            if self.redirect_public_to is None:
                raise httpcore.ConnectError("the test has no internet")
            host, port = "127.0.0.1", self.redirect_public_to
        return await self.inner.connect_tcp(host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def listener() -> Any:
    with RecordingListener() as opened:
        yield opened


async def test_a_name_resolving_to_loopback_never_connects(listener: RecordingListener) -> None:
    resolver = Resolver(["127.0.0.1"])
    backend = RecordingBackend()
    fetcher = SafeFetcher(resolver=resolver, network_backend=backend)
    with pytest.raises(OutboundError, match="resolves to an internal address"):
        await fetcher.get(f"https://docs.example:{listener.port}/client.json")
    assert resolver.lookups == ["docs.example"]
    assert backend.connects == []  # refused before any socket was opened
    assert listener.accepted == []


async def test_one_internal_address_among_public_ones_refuses_all(
    listener: RecordingListener,
) -> None:
    backend = RecordingBackend()
    fetcher = SafeFetcher(
        resolver=Resolver(["93.184.215.14", "127.0.0.1"]), network_backend=backend
    )
    with pytest.raises(OutboundError, match="internal address"):
        await fetcher.get(f"https://docs.example:{listener.port}/client.json")
    assert backend.connects == []
    assert listener.accepted == []


async def test_dns_rebinding_cannot_reach_loopback(listener: RecordingListener) -> None:
    """Public on the first lookup, 127.0.0.1 on any later one: the connection goes to the
    address that was checked, and no second lookup decides where it goes."""
    resolver = Resolver(["93.184.215.14"], ["127.0.0.1"])
    backend = RecordingBackend()
    fetcher = SafeFetcher(resolver=resolver, network_backend=backend)
    with pytest.raises(OutboundError, match="connection failed"):
        await fetcher.get(f"https://rebind.example:{listener.port}/client.json")
    assert backend.connects == ["93.184.215.14"]
    assert resolver.lookups == ["rebind.example"]
    assert listener.accepted == []


async def test_the_listener_would_see_an_unchecked_connection(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the tests above: with the address check switched off, the same fetch
    does reach the listener, so its silence there means something."""
    monkeypatch.setattr(outbound, "is_public_address", lambda address: True)
    fetcher = SafeFetcher(resolver=Resolver(["127.0.0.1"]))
    with pytest.raises(OutboundError):
        await fetcher.get(f"https://docs.example:{listener.port}/client.json")
    # The listener records a connection before it closes it, and the close is what failed
    # the fetch: no waiting needed.
    assert len(listener.accepted) == 1


# TLS: the name is verified, the checked address is connected -----------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str) -> DocumentServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return DocumentServer(context)


def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


async def test_tls_verifies_the_name_on_the_pinned_connection(
    ca: trustme.CA, tmp_path: Path
) -> None:
    with tls_server(ca, "docs.example") as server:
        server.routes["/client.json"] = Route(b'{"ok": true}')
        backend = RecordingBackend()
        backend.redirect_public_to = server.port  # "the internet" is the local server
        fetcher = SafeFetcher(
            resolver=Resolver(["93.184.215.14"]),
            network_backend=backend,
            extra_ca_file=ca_file(ca, tmp_path),
        )
        fetched = await fetcher.get("https://docs.example/client.json")
    assert json.loads(fetched.body) == {"ok": True}
    assert backend.connects == ["93.184.215.14"]


async def test_tls_refuses_a_certificate_for_another_name(ca: trustme.CA, tmp_path: Path) -> None:
    with tls_server(ca, "other.example") as server:
        server.routes["/client.json"] = Route(b"{}")
        backend = RecordingBackend()
        backend.redirect_public_to = server.port
        fetcher = SafeFetcher(
            resolver=Resolver(["93.184.215.14"]),
            network_backend=backend,
            extra_ca_file=ca_file(ca, tmp_path),
        )
        with pytest.raises(OutboundError, match="no valid TLS certificate"):
            await fetcher.get("https://docs.example/client.json")


async def test_tls_refuses_an_unknown_ca(ca: trustme.CA) -> None:
    with tls_server(ca, "127.0.0.1") as server:
        server.routes["/client.json"] = Route(b"{}")
        with pytest.raises(OutboundError, match="no valid TLS certificate"):
            await SafeFetcher(dev_mode=True).get(server.url("/client.json"))


# Answers -----------------------------------------------------------------------------------


@pytest.fixture
def server() -> Any:
    with DocumentServer() as opened:
        yield opened


async def test_a_document_is_fetched(server: DocumentServer) -> None:
    server.routes["/c.json"] = Route(b'{"a": 1}', headers={"Cache-Control": "max-age=60"})
    fetched = await SafeFetcher(dev_mode=True).get(server.url("/c.json"))
    assert fetched.body == b'{"a": 1}'
    assert fetched.headers["cache-control"] == "max-age=60"


async def test_a_redirect_is_not_followed(server: DocumentServer) -> None:
    server.routes["/c.json"] = Route(status=302, headers={"Location": server.url("/other")})
    with pytest.raises(OutboundError, match="redirect refused"):
        await SafeFetcher(dev_mode=True).get(server.url("/c.json"))
    assert server.requests == ["/c.json"]


async def test_an_error_status_is_reported(server: DocumentServer) -> None:
    with pytest.raises(OutboundError, match="answered 404"):
        await SafeFetcher(dev_mode=True).get(server.url("/missing.json"))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_5_kb_is_refused(server: DocumentServer, chunked: bool) -> None:
    server.routes["/c.json"] = Route(b" " * (5 * 1024 + 1), chunked=chunked)
    with pytest.raises(OutboundError, match="larger than 5 KB"):
        await SafeFetcher(dev_mode=True).get(server.url("/c.json"))


async def test_a_body_of_exactly_5_kb_is_read(server: DocumentServer) -> None:
    server.routes["/c.json"] = Route(b" " * (5 * 1024), chunked=True)
    fetched = await SafeFetcher(dev_mode=True).get(server.url("/c.json"))
    assert len(fetched.body) == 5 * 1024


async def test_a_slow_body_is_cut_off_at_the_deadline(server: DocumentServer) -> None:
    server.routes["/c.json"] = Route(b"{" + b" " * 50 + b"}", seconds_per_byte=1.0)
    started = time.monotonic()
    with pytest.raises(OutboundError, match=r"took longer than 0\.5 s"):
        await SafeFetcher(dev_mode=True, timeout=0.5).get(server.url("/c.json"))
    assert time.monotonic() - started < 3


async def test_an_unknown_name_is_reported() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(OutboundError, match="could not be found"):
        await SafeFetcher(resolver=nowhere).get("https://nowhere.example/c.json")


async def test_dev_mode_loopback_name_must_resolve_to_loopback() -> None:
    fetcher = SafeFetcher(dev_mode=True, resolver=Resolver(["93.184.215.14"]))
    with pytest.raises(OutboundError, match="does not resolve to a loopback address"):
        await fetcher.get("http://localhost:1/c.json")
