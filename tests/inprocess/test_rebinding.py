"""DNS rebinding cannot take the bridge into its own network, outside dev mode: a name that
resolves to a public address when the bridge checks it and to 127.0.0.1 when it connects never
reaches a listener on loopback, for IB's browser-login API (the platform URL), for the API URL
IB reports, and for the proxy's connections to either.

The name server is the process's own `socket.getaddrinfo`, replaced for a few test names: the
one every resolver in the bridge would use (asyncio's, anyio's and aiohttp's threaded resolver
all call it), so a client that looked a name up a second time on its own would be caught here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_dns import API, PLATFORM, PUBLIC, FakeDNS, emulator_at

from docserver import RecordingListener
from inprocess_flow import authorize_path, form_value, pkce_pair, tokens
from inprocess_stack import open_stack

pytestmark = pytest.mark.anyio

PRODUCTION = {"issuer": "https://bridge.example", "dev_mode": False, "dev_ib_urls": ()}


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as opened:
        yield opened


async def test_the_platform_url_is_connected_to_at_its_checked_address(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener
) -> None:
    # Public when the platform URL is checked, loopback when IB's login API is called.
    dns.answers[PLATFORM] = [PUBLIC, "127.0.0.1"]
    async with open_stack(
        tmp_path, emulator_at(listener.port), login_in_process=False, **PRODUCTION
    ) as stack, stack.browser() as browser:
        _, challenge = pkce_pair()
        page = await browser.get(authorize_path(challenge=challenge, state="s"))
        assert page.status_code == 200, page.text
        answer = await browser.post(
            "/authorize/platform",
            data={
                "platform_url": f"https://{PLATFORM}:{listener.port}",
                "csrf_token": form_value(page.text, "csrf_token"),
            },
            headers={"Accept": "application/json", "Origin": stack.settings.issuer},
        )
    assert answer.status_code == 502, answer.text
    assert "could not be reached" in answer.json()["error_description"]
    assert len(dns.lookups) == 2  # checked once, resolved once to connect: both seen
    assert listener.accepted == []


async def test_an_api_url_resolving_internally_ends_the_login(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener
) -> None:
    dns.answers[PLATFORM] = [PUBLIC]
    dns.answers[API] = ["127.0.0.1"]
    async with open_stack(tmp_path, emulator_at(listener.port), **PRODUCTION) as stack:
        with pytest.raises(AssertionError, match="failed"):
            await tokens(stack, scope="ib.read")
        assert stack.count("grants") == 0
    assert API in dns.lookups


async def test_the_proxy_connects_to_the_api_url_at_its_checked_address(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener
) -> None:
    dns.answers[PLATFORM] = [PUBLIC]
    # Public when IB reports it at sign-in, loopback when the proxy connects.
    dns.answers[API] = [PUBLIC, "127.0.0.1"]
    async with open_stack(tmp_path, emulator_at(listener.port), **PRODUCTION) as stack:
        access = (await tokens(stack, scope="ib.read"))["access_token"]
        answer = await stack.http.get(
            "/proxy/api/3.0.0/BnK4JV/resource.limit(1)",
            headers={"Authorization": f"Bearer {access}"},
        )
    assert answer.status_code == 502, answer.text
    assert dns.lookups.count(API) == 2
    assert listener.accepted == []


async def test_the_proxy_connects_to_the_platform_host_at_its_checked_address(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener
) -> None:
    dns.answers[PLATFORM] = [PUBLIC]
    dns.answers[API] = [PUBLIC]
    async with open_stack(tmp_path, emulator_at(listener.port), **PRODUCTION) as stack:
        access = (await tokens(stack, scope="ib.read"))["access_token"]
        dns.answers[PLATFORM] = ["127.0.0.1"]  # the name moves after the sign-in
        answer = await stack.http.get(
            f"/proxy/{PLATFORM}:{listener.port}/api/3.0.0/BnK4JV/resource.limit(1)",
            headers={"Authorization": f"Bearer {access}"},
        )
    assert answer.status_code == 502, answer.text
    assert listener.accepted == []
