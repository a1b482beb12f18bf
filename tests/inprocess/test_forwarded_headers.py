"""Forwarded headers (`X-Forwarded-For`/`-Host`/`-Proto`, RFC 7239 `Forwarded`) are believed only
from the reverse proxies in IB_BRIDGE_TRUSTED_PROXIES (forwarded.TrustedProxies).

The connection's peer is set per client (httpx's ASGI transport hands the app the scope's
`client`). What the address decides is observed where it matters: the /register rate limit
(one bucket per address), the login's pending-per-address cap, and the audit log's `ip`. The
issuer, the metadata URLs and every redirect stay the issuer's whatever the headers say.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from audit_log import at, authorize_as, events

from inprocess_flow import LOOPBACK_REDIRECT, authorize_path, pkce_pair
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

PROXY = "10.0.0.5"  # the trusted reverse proxy's address in these tests
OUTSIDER = "192.0.2.66"  # a caller connecting directly
PUBLIC = {"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}
ONE_REGISTRATION = {"registration_rate_limit": "1/hour"}
TRUSTING = {"trusted_proxies": ("10.0.0.0/24",)}


def overrides(**values: Any) -> Any:
    return pytest.mark.parametrize("settings_overrides", [values])


async def register_from(stack: Stack, peer: str, **headers: str) -> int:
    async with at(stack, peer, **headers) as client:
        return (await client.post("/register", json=PUBLIC)).status_code


# The client address -------------------------------------------------------------------------


FORGERIES = [
    {"X-Forwarded-For": "198.51.100.1"},
    {"X-Forwarded-For": "198.51.100.2, 198.51.100.3"},
    {"Forwarded": "for=198.51.100.4"},
    {"Forwarded": 'for="[2001:db8::5]:4711";proto=https'},
    {"X-Real-IP": "198.51.100.6", "X-Forwarded-For": "198.51.100.6"},
]


@overrides(**ONE_REGISTRATION)
@pytest.mark.parametrize("forged", FORGERIES)
async def test_forged_forwarding_from_an_untrusted_peer_shares_the_peers_bucket(
    stack: Stack, forged: dict[str, str]
) -> None:
    assert await register_from(stack, OUTSIDER, **{"X-Forwarded-For": "203.0.113.1"}) == 201
    assert await register_from(stack, OUTSIDER, **forged) == 429
    assert await register_from(stack, "192.0.2.67", **forged) == 201  # another real peer


@overrides(**ONE_REGISTRATION)
async def test_a_proxy_not_in_the_setting_is_not_trusted(stack: Stack) -> None:
    # No trusted proxies by default: even a private or loopback peer's headers are ignored.
    for peer in (PROXY, "127.0.0.1"):
        assert await register_from(stack, peer, **{"X-Forwarded-For": "198.51.100.1"}) == 201
        assert await register_from(stack, peer, **{"X-Forwarded-For": "198.51.100.2"}) == 429


@overrides(**ONE_REGISTRATION, **TRUSTING)
async def test_a_trusted_proxy_gives_each_forwarded_client_its_own_bucket(stack: Stack) -> None:
    assert await register_from(stack, PROXY, **{"X-Forwarded-For": "198.51.100.1"}) == 201
    assert await register_from(stack, PROXY, **{"X-Forwarded-For": "198.51.100.2"}) == 201
    # The client may prepend what it likes; the proxy's own (rightmost) entry counts.
    spoofed = {"X-Forwarded-For": "198.51.100.9, 198.51.100.1"}
    assert await register_from(stack, PROXY, **spoofed) == 429
    # Through two trusted proxies (10.0.0.7 forwarded to 10.0.0.5): the hop before them.
    chained = {"X-Forwarded-For": "198.51.100.9, 198.51.100.2, 10.0.0.7"}
    assert await register_from(stack, PROXY, **chained) == 429
    assert await register_from(stack, PROXY, **{"Forwarded": 'for="[2001:db8::5]:80"'}) == 201
    assert await register_from(stack, PROXY, **{"X-Forwarded-For": "2001:db8::5"}) == 429
    # The same headers from a peer outside the setting count against that peer.
    assert await register_from(stack, "10.0.1.5", **{"X-Forwarded-For": "198.51.100.3"}) == 201
    assert await register_from(stack, "10.0.1.5", **{"X-Forwarded-For": "198.51.100.4"}) == 429


@overrides(**ONE_REGISTRATION, **TRUSTING)
@pytest.mark.parametrize(
    "headers",
    [
        {},  # no forwarding at all: the proxy itself
        {"X-Forwarded-For": "unknown"},
        {"X-Forwarded-For": "not-an-address, 198.51.100.1"},  # rightmost wins: believed
        {"Forwarded": "for=_hidden"},
        {"Forwarded": "for=198.51.100.1;;;garbage"},
        {"X-Forwarded-For": "10.0.0.8"},  # only trusted proxies on the way
        # One header passed the proxy unread: they disagree, neither is believed.
        {"X-Forwarded-For": "198.51.100.1", "Forwarded": "for=198.51.100.2"},
    ],
)
async def test_what_a_trusted_proxy_does_not_clearly_forward_is_the_proxys_address(
    stack: Stack, headers: dict[str, str]
) -> None:
    believed = headers.get("X-Forwarded-For", "") == "not-an-address, 198.51.100.1"
    assert await register_from(stack, PROXY, **headers) == 201
    if believed:  # the forwarded client used its allowance, not the proxy's
        assert await register_from(stack, PROXY, **{"X-Forwarded-For": "198.51.100.1"}) == 429
        assert await register_from(stack, PROXY) == 201
    else:
        assert await register_from(stack, PROXY) == 429


GARBAGE = [
    'for="[::1', "for=", "=", ";;,,;", 'for="\\"', "for=[zz]:1", "host=a b", "proto=gopher",
    "for=" + "1." * 4000, "for=1.2.3.4;for=5.6.7.8", "\u00e9=\u00e9", "for=::ffff:10.0.0.9",
]


@overrides(**TRUSTING)
@pytest.mark.parametrize("peer", [PROXY, OUTSIDER])
async def test_no_forwarded_value_gets_a_500(stack: Stack, peer: str) -> None:
    for value in GARBAGE:
        headers = {"Forwarded": value, "X-Forwarded-For": value, "X-Forwarded-Host": value,
                   "X-Forwarded-Proto": value}
        encoded = {name: text.encode("utf-8") for name, text in headers.items()}
        async with at(stack, peer) as client:
            answer = await client.get("/.well-known/oauth-authorization-server", headers=encoded)
        assert answer.status_code in {200, 400, 431}, (value, answer.text)


@overrides(login_max_pending_per_address=1, **TRUSTING)
async def test_the_pending_login_cap_counts_the_forwarded_client(stack: Stack) -> None:
    async def open_page(peer: str, forwarded_for: str) -> int:
        _, challenge = pkce_pair()
        async with at(stack, peer, **{"X-Forwarded-For": forwarded_for}) as browser:
            return (await browser.get(authorize_path(challenge=challenge, state="s"))).status_code

    assert await open_page(PROXY, "198.51.100.1") == 200
    assert await open_page(PROXY, "198.51.100.2") == 200  # another user behind the proxy
    assert await open_page(PROXY, "198.51.100.1") == 429
    assert await open_page(OUTSIDER, "198.51.100.3") == 200
    assert await open_page(OUTSIDER, "198.51.100.4") == 429  # forged: the same outsider


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"audit_log": str(tmp_path / "audit.log"), **TRUSTING}


async def test_the_audit_log_names_the_forwarded_client_only_through_a_trusted_proxy(
    stack: Stack, tmp_path: Path
) -> None:
    authorized = await authorize_as(stack)
    via_proxy = await exchange_from_with(stack, authorized, PROXY, "198.51.100.77")
    assert via_proxy.status_code == 200, via_proxy.text
    forged = await exchange_from_with(stack, await authorize_as(stack), OUTSIDER, "198.51.100.78")
    assert forged.status_code == 200, forged.text
    issued = events(tmp_path / "audit.log", "code.exchanged")
    assert [event["ip"] for event in issued] == ["198.51.100.77", OUTSIDER]


async def exchange_from_with(stack: Stack, authorized: Any, peer: str, forwarded_for: str) -> Any:
    app = stack.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))
    headers = {"X-Forwarded-For": forwarded_for, "Forwarded": f"for={forwarded_for}"}
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER, headers=headers) as client:
        return await client.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": authorized.code,
                "redirect_uri": authorized.redirect_uri,
                "client_id": authorized.client_id,
                "code_verifier": authorized.verifier,
            },
        )


# The issuer, the metadata and the redirects --------------------------------------------------

HOSTILE = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "Forwarded": "host=evil.example;proto=https;for=198.51.100.1",
}


@pytest.mark.parametrize("peer", [OUTSIDER, PROXY])
async def test_forged_host_and_proto_never_change_the_issuer_or_redirects(
    stack: Stack, peer: str
) -> None:
    async with at(stack, peer, **HOSTILE) as client:
        metadata = await client.get("/.well-known/oauth-authorization-server")
        _, challenge = pkce_pair()
        bad = await client.get(
            authorize_path(challenge=challenge, state="s", code_challenge_method="plain")
        )
    if peer == PROXY:  # believed, the forwarded Host must still be the issuer's
        assert metadata.status_code == 400
        assert bad.status_code == 400
        assert "evil.example" not in metadata.text + bad.text
        return
    assert metadata.status_code == 200
    text = metadata.text
    assert "evil.example" not in text
    assert "https://" not in text
    assert metadata.json()["issuer"] == ISSUER
    assert metadata.json()["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert bad.status_code in {302, 303}, bad.text
    location = bad.headers["location"]
    assert location.startswith(LOOPBACK_REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["iss"] == [ISSUER]


async def test_a_trusted_proxy_forwarding_the_issuers_host_over_https_keeps_the_issuer(
    stack: Stack,
) -> None:
    forwarded = {"X-Forwarded-Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https"}
    async with at(stack, PROXY, **{**forwarded, "Host": "backend.internal:9000"}) as client:
        metadata = await client.get("/.well-known/oauth-authorization-server")
        slash = await client.get("/token/", follow_redirects=False)
    assert metadata.status_code == 200, metadata.text
    assert metadata.json()["issuer"] == ISSUER
    assert metadata.json()["token_endpoint"] == f"{ISSUER}/token"
    if slash.status_code in {301, 302, 307, 308}:
        assert slash.headers["location"].startswith(ISSUER + "/")
