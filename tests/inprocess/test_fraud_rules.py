"""The fraud rules on the running bridge: each rule fires just past its threshold and stays
quiet at it; a block at /token answers 429 with Retry-After until the clock moves past it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from audit_log import at, authorize_as, events, exchange_from
from test_audiences import PROXY_PATH, bearer, claims

from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.devib.config import DemoUser, default_users
from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import CLIENT_ID, LOOPBACK_REDIRECT, authorize, exchange
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

WEB_APP = ("web-app", "web-app-secret-0f9e8d7c6b5a")
FAILURES = 3  # failed exchanges allowed per address or client within the window
BLOCK = 100  # seconds a block lasts
ADDRESSES = 2  # addresses a grant may be used from within the window
USERS = 2  # IB users who may sign in through one address within the window


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


@pytest.fixture
def settings_overrides(audit_path: Path) -> dict[str, Any]:
    return {
        "audit_log": str(audit_path),
        "fraud_exchange_failures": FAILURES,
        "fraud_exchange_failure_window": 60,
        "fraud_exchange_block_seconds": BLOCK,
        "fraud_grant_addresses": ADDRESSES,
        "fraud_users_per_address": USERS,
        "clients": (
            ClientConfig(
                client_id=WEB_APP[0],
                client_secret=WEB_APP[1],
                token_endpoint_auth_method="client_secret_post",
                redirect_uris=(LOOPBACK_REDIRECT,),
            ),
        ),
    }


async def bad_exchange(stack: Stack, ip: str, client: tuple[str, str] | None = None) -> int:
    """A code exchange with a code that does not exist: its status."""
    data = {
        "grant_type": "authorization_code",
        "code": "no-such-code-" + ip,
        "redirect_uri": LOOPBACK_REDIRECT,
        "client_id": client[0] if client else CLIENT_ID,
        "code_verifier": "v" * 43,
        **({"client_secret": client[1]} if client else {}),
    }
    async with at(stack, ip) as http:
        answer = await http.post("/token", data=data)
    return answer.status_code


# Failed code exchanges ---------------------------------------------------------------------------


async def test_failures_up_to_the_threshold_block_nothing(stack: Stack, audit_path: Path) -> None:
    for _ in range(FAILURES):
        assert await bad_exchange(stack, "192.0.2.1") == 400
    answer = await exchange_from(stack, await authorize(stack), "192.0.2.1")
    assert answer.status_code == 200, answer.text
    assert not events(audit_path, "fraud.exchange_failures_blocked")


async def test_failures_past_the_threshold_block_the_address_until_the_block_ends(
    stack: Stack, audit_path: Path
) -> None:
    for _ in range(FAILURES + 1):
        assert await bad_exchange(stack, "192.0.2.1") == 400
    [alert] = events(audit_path, "fraud.exchange_failures_blocked")
    assert (
        alert.items()
        >= {
            "outcome": "alert",
            "ip": "192.0.2.1",
            "reason": "by_ip",
            "count": FAILURES + 1,
            "retry_after": BLOCK,
        }.items()
    )
    authorized = await authorize(stack)
    blocked = await exchange_from(stack, authorized, "192.0.2.1")  # even a good code
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    # The sign-in above moved the clock by a poll interval since the block began.
    assert BLOCK - 5 <= int(blocked.headers["retry-after"]) <= BLOCK
    # The counters key addresses by the bridge's keyed hash, never the address itself.
    assert "192.0.2.1" not in repr(vars(stack.bridge.audit.fraud.counters))
    [limited] = events(audit_path, "rate.limited")
    assert limited.items() >= {"reason": "exchange_failures_block", "ip": "192.0.2.1"}.items()
    assert (await exchange_from(stack, authorized, "192.0.2.2")).status_code == 200  # not there
    stack.clock.advance(BLOCK - 10)
    assert (await exchange_from(stack, await authorize(stack), "192.0.2.1")).status_code == 429
    stack.clock.advance(11)
    assert (await exchange_from(stack, await authorize(stack), "192.0.2.1")).status_code == 200


async def test_a_pkce_failure_counts(stack: Stack) -> None:
    for _ in range(FAILURES + 1):
        answer = await exchange_from(
            stack, await authorize(stack), "192.0.2.5", code_verifier="w" * 43
        )
        assert answer.status_code == 400
    assert (await bad_exchange(stack, "192.0.2.5")) == 429


async def test_a_confidential_client_failing_from_many_addresses_is_blocked(
    stack: Stack, audit_path: Path
) -> None:
    for n in range(FAILURES + 1):
        assert await bad_exchange(stack, f"198.51.100.{n}", WEB_APP) == 400
    assert await bad_exchange(stack, "198.51.100.99", WEB_APP) == 429
    alerts = events(audit_path, "fraud.exchange_failures_blocked")
    assert [alert["reason"] for alert in alerts] == ["by_client"]
    assert alerts[0]["client_id"] == WEB_APP[0]
    # A wrong secret is not the client: it is neither counted nor a way around the block.
    assert await bad_exchange(stack, "198.51.100.98", (WEB_APP[0], "wrong")) == 429
    stack.clock.advance(BLOCK + 1)
    assert await bad_exchange(stack, "198.51.100.99", WEB_APP) == 400


async def test_a_public_client_failing_from_many_addresses_is_not_blocked(stack: Stack) -> None:
    """Its id is anyone's to send: blocking it would lock out every one of its users."""
    for n in range(FAILURES + 3):
        assert await bad_exchange(stack, f"198.51.100.{n}") == 400
    answer = await exchange_from(stack, await authorize(stack), "198.51.100.99")
    assert answer.status_code == 200


# One grant from many addresses --------------------------------------------------------------


async def proxy_from(stack: Stack, ip: str, access_token: str) -> int:
    async with at(stack, ip) as http:
        answer = await http.get(PROXY_PATH, headers=bearer(access_token))
    return answer.status_code


async def test_a_grant_used_from_as_many_addresses_as_allowed_raises_nothing(
    stack: Stack, audit_path: Path
) -> None:
    token = (await exchange(stack, await authorize(stack))).json()  # from 127.0.0.1
    for ip in ("127.0.0.1", "192.0.2.1", "127.0.0.1", "192.0.2.1"):
        # Past the bridge's checks: in-process, IB's API host is not listening (502).
        assert await proxy_from(stack, ip, token["access_token"]) == 502
    assert not events(audit_path, "fraud.grant_many_addresses")
    await stack.bridge.upstream.aclose()


async def test_a_grant_used_from_more_addresses_raises_an_alert(
    stack: Stack, audit_path: Path
) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    grant_id = claims(token["access_token"])["grant_id"]
    assert await proxy_from(stack, "192.0.2.1", token["access_token"]) == 502
    assert await proxy_from(stack, "192.0.2.2", token["access_token"]) == 502  # not revoked
    [alert] = events(audit_path, "fraud.grant_many_addresses")
    assert (
        alert.items()
        >= {
            "outcome": "alert",
            "grant_id": grant_id,
            "client_id": CLIENT_ID,
            "ib_user_id": "u-demo",
            "ip": "192.0.2.2",
            "count": ADDRESSES + 1,
            "revoked": False,
        }.items()
    )
    await stack.bridge.upstream.aclose()


async def test_the_addresses_are_forgotten_after_the_window(stack: Stack, audit_path: Path) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    assert await proxy_from(stack, "192.0.2.1", token["access_token"]) == 502
    stack.clock.advance(stack.settings.fraud_grant_address_window + 1)
    assert await proxy_from(stack, "192.0.2.2", token["access_token"]) in {401, 502}
    assert not events(audit_path, "fraud.grant_many_addresses")
    await stack.bridge.upstream.aclose()


async def test_a_grant_used_from_more_addresses_is_revoked_when_configured(
    tmp_path: Path, settings_overrides: dict[str, Any], audit_path: Path
) -> None:
    async with open_stack(
        tmp_path, **{**settings_overrides, "fraud_grant_addresses_revoke": True}
    ) as stack:
        token = (await exchange(stack, await authorize(stack))).json()
        assert await proxy_from(stack, "192.0.2.1", token["access_token"]) == 502
        assert await proxy_from(stack, "192.0.2.2", token["access_token"]) == 401
        assert await proxy_from(stack, "127.0.0.1", token["access_token"]) == 401  # ended
        refreshed = await exchange_from(stack, await authorize(stack), "127.0.0.1")
        assert refreshed.status_code == 200  # another sign-in is not touched
        await stack.bridge.upstream.aclose()
    [alert] = events(audit_path, "fraud.grant_many_addresses")
    assert alert["revoked"] is True
    ended = events(audit_path, "grant.ended")
    assert [event["reason"] for event in ended] == ["used_from_too_many_addresses"]


async def test_a_refresh_from_one_address_too_many_is_refused_when_configured(
    tmp_path: Path, settings_overrides: dict[str, Any]
) -> None:
    async with open_stack(
        tmp_path, **{**settings_overrides, "fraud_grant_addresses_revoke": True}
    ) as stack:
        token = (await exchange(stack, await authorize(stack))).json()
        assert await proxy_from(stack, "192.0.2.1", token["access_token"]) == 502
        async with at(stack, "192.0.2.2") as http:
            answer = await http.post(
                "/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": token["refresh_token"],
                    "client_id": CLIENT_ID,
                },
            )
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        await stack.bridge.upstream.aclose()


# Many users through one address ----------------------------------------------------------------


@pytest.fixture
def users_stack_config() -> EmulatorConfig:
    third = DemoUser("third", "third", "Third", "User", "third@example.com", "u-third")
    return EmulatorConfig(users=[*default_users(), third])


async def test_as_many_users_as_allowed_through_one_address_raise_nothing(
    tmp_path: Path, settings_overrides: dict[str, Any], audit_path: Path
) -> None:
    async with open_stack(tmp_path, **settings_overrides) as stack:
        for username in ("demo", "grace", "demo"):
            await authorize_as(stack, username, ip="203.0.113.7")
    assert not events(audit_path, "fraud.many_users_one_address")


async def test_more_users_through_one_address_raise_an_alert(
    tmp_path: Path,
    settings_overrides: dict[str, Any],
    audit_path: Path,
    users_stack_config: EmulatorConfig,
) -> None:
    async with open_stack(tmp_path, users_stack_config, **settings_overrides) as stack:
        await authorize_as(stack, "demo", ip="203.0.113.7")
        await authorize_as(stack, "grace", ip="203.0.113.7")
        await authorize_as(stack, "third", ip="203.0.113.8")  # another address
        await authorize_as(stack, "third", ip="203.0.113.7")
    [alert] = events(audit_path, "fraud.many_users_one_address")
    assert (
        alert.items()
        >= {
            "outcome": "alert",
            "ip": "203.0.113.7",
            "ib_user_id": "u-third",
            "count": USERS + 1,
        }.items()
    )
