"""SSRF through the two URLs the bridge fetches on someone else's word, outside dev mode: the
platform URL a user types (IB's browser-login API is called there) and a Client ID Metadata
Document URL (the `client_id` of an unknown client). A name server answering for test names
(tests/inprocess/fake_dns.py: the process's own `socket.getaddrinfo`, which every resolver in
the bridge calls) and a listener on loopback that records every connection it accepts stand
where an attacker would aim: every case is refused, and the listener sees no connection.

Platform URLs: 400 `invalid_platform` for anything but an https name under the configured
pattern that resolves to public addresses only; a name that rebinds to loopback between the
check and the connection gets 502 (the connection is checked again). Metadata documents: the
HTML error page of an invalid client, no transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_dns import PUBLIC, FakeDNS, emulator_at

from docserver import RecordingListener
from inprocess_flow import authorize_path, form_value, pkce_pair
from inprocess_stack import open_stack

pytestmark = pytest.mark.anyio

PRODUCTION = {"issuer": "https://bridge.example", "dev_mode": False, "dev_ib_urls": ()}
IB = "intelligencebank.com"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as opened:
        yield opened


@dataclass(frozen=True)
class Target:
    url: str  # {port}: the listener's
    answers: dict[str, list[str]]  # what the name server says, per name
    status: int = 400
    error: str = "invalid_platform"


PLATFORM_TARGETS = {
    "http-scheme": Target("http://acme.{ib}:{port}", {}),
    "ip4-loopback-literal": Target("https://127.0.0.1:{port}", {}),
    "ip6-loopback-literal": Target("https://[::1]:{port}", {}),
    "decimal-ip": Target("https://2130706433:{port}", {}),
    "hex-ip": Target("https://0x7f000001:{port}", {}),
    "localhost": Target("https://localhost:{port}", {}),
    "foreign-host": Target("https://evil.example:{port}", {}),
    "suffix-lookalike": Target("https://acme.{ib}.evil.example:{port}", {}),
    "bare-domain": Target("https://{ib}:{port}", {}),
    "userinfo-to-evil": Target("https://acme.{ib}@evil.example:{port}", {}),
    "userinfo-to-loopback": Target("https://acme.{ib}@127.0.0.1:{port}", {}),
    "fragment-trick": Target("https://evil.example:{port}#.{ib}", {}),
    "query-trick": Target("https://evil.example:{port}?.{ib}", {}),
    "backslash-trick": Target("https://evil.example:{port}\\.{ib}", {}),
    "file-scheme": Target("file:///etc/passwd", {}),
    "gopher-scheme": Target("gopher://acme.{ib}:{port}", {}),
    "resolves-to-loopback": Target("https://loop.{ib}:{port}", {"loop.{ib}": ["127.0.0.1"]}),
    "resolves-to-private": Target("https://lan.{ib}:{port}", {"lan.{ib}": ["10.0.0.5"]}),
    "resolves-to-metadata": Target(
        "https://meta.{ib}:{port}", {"meta.{ib}": ["169.254.169.254"]}
    ),
    "resolves-to-any-address": Target("https://zero.{ib}:{port}", {"zero.{ib}": ["0.0.0.0"]}),
    "resolves-to-ip6-loopback": Target("https://v6.{ib}:{port}", {"v6.{ib}": ["::1"]}),
    "resolves-to-mapped-loopback": Target(
        "https://mapped.{ib}:{port}", {"mapped.{ib}": ["::ffff:127.0.0.1"]}
    ),
    "resolves-to-nat64-loopback": Target(
        "https://nat64.{ib}:{port}", {"nat64.{ib}": ["64:ff9b::7f00:1"]}
    ),
    "resolves-to-6to4-private": Target(
        "https://sixtofour.{ib}:{port}", {"sixtofour.{ib}": ["2002:0a00:0001::1"]}
    ),
    "rebinds-to-loopback-at-connect": Target(
        "https://rebind.{ib}:{port}", {"rebind.{ib}": [PUBLIC, "127.0.0.1"]}, 502, "bad_gateway"
    ),
}


def _fill(text: str, port: int) -> str:
    return text.replace("{ib}", IB).replace("{port}", str(port))


@pytest.mark.parametrize("target", PLATFORM_TARGETS.values(), ids=PLATFORM_TARGETS.keys())
async def test_a_platform_url_into_the_network_is_refused(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener, target: Target
) -> None:
    for name, answers in target.answers.items():
        dns.answers[_fill(name, listener.port)] = list(answers)
    url = _fill(target.url, listener.port)
    async with open_stack(
        tmp_path, emulator_at(listener.port), login_in_process=False, **PRODUCTION
    ) as stack, stack.browser() as browser:
        _, challenge = pkce_pair()
        page = await browser.get(authorize_path(challenge=challenge, state="s"))
        assert page.status_code == 200, page.text
        answer = await browser.post(
            "/authorize/platform",
            data={"platform_url": url, "csrf_token": form_value(page.text, "csrf_token")},
            headers={"Accept": "application/json", "Origin": stack.settings.issuer},
        )
        assert answer.status_code == target.status, answer.text
        assert answer.json()["error"] == target.error
        assert "login_url" not in answer.json()
        assert stack.count("grants") == 0
    assert listener.accepted == []


DOCUMENT_TARGETS = {
    "http-scheme": Target("http://cimd.example:{port}/c.json", {}),
    "ip4-loopback-literal": Target("https://127.0.0.1:{port}/c.json", {}),
    "ip6-loopback-literal": Target("https://[::1]:{port}/c.json", {}),
    "localhost": Target("https://localhost:{port}/c.json", {"localhost": ["127.0.0.1"]}),
    "userinfo": Target("https://cimd.example@127.0.0.1:{port}/c.json", {}),
    "resolves-to-loopback": Target(
        "https://loop.cimd.example:{port}/c.json", {"loop.cimd.example": ["127.0.0.1"]}
    ),
    "resolves-to-private": Target(
        "https://lan.cimd.example:{port}/c.json", {"lan.cimd.example": ["192.168.1.10"]}
    ),
    "resolves-to-metadata": Target(
        "https://meta.cimd.example:{port}/c.json", {"meta.cimd.example": ["169.254.169.254"]}
    ),
    "resolves-to-mapped-loopback": Target(
        "https://mapped.cimd.example:{port}/c.json", {"mapped.cimd.example": ["::ffff:7f00:1"]}
    ),
    "resolves-to-nat64-private": Target(
        "https://nat64.cimd.example:{port}/c.json", {"nat64.cimd.example": ["64:ff9b::a00:1"]}
    ),
}


@pytest.mark.parametrize("target", DOCUMENT_TARGETS.values(), ids=DOCUMENT_TARGETS.keys())
async def test_a_metadata_document_url_into_the_network_is_refused(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener, target: Target
) -> None:
    for name, answers in target.answers.items():
        dns.answers[_fill(name, listener.port)] = list(answers)
    client_id = _fill(target.url, listener.port)
    async with open_stack(tmp_path, emulator_at(listener.port), **PRODUCTION) as stack:
        _, challenge = pkce_pair()
        async with stack.browser() as browser:
            answer = await browser.get(
                authorize_path(
                    challenge, "s", client_id=client_id, redirect_uri="https://app.example/cb"
                )
            )
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        assert "location" not in answer.headers
        assert stack.count("transactions") == 0
        assert stack.count("clients") == 0
    assert listener.accepted == []


async def test_a_metadata_document_name_is_looked_up_once_and_never_rebound(
    tmp_path: Path, dns: FakeDNS, listener: RecordingListener
) -> None:
    """Public at the one lookup, loopback at any later one: the fetch connects to the checked
    (public) address, so the listener on loopback never sees it; there is no second lookup
    for a rebinding name server to answer."""
    name = "rebind.cimd.example"
    dns.answers[name] = [PUBLIC, "127.0.0.1"]
    client_id = f"https://{name}:{listener.port}/c.json"
    async with open_stack(tmp_path, emulator_at(listener.port), **PRODUCTION) as stack:
        _, challenge = pkce_pair()
        async with stack.browser() as browser:
            answer = await browser.get(
                authorize_path(
                    challenge, "s", client_id=client_id, redirect_uri="https://app.example/cb"
                )
            )
        assert answer.status_code == 400, answer.text
        assert stack.count("transactions") == 0
    assert dns.lookups == [name]
    assert listener.accepted == []
