"""PKCE downgrade and authorization-code injection (RFC 9700 4.5, 4.8; OAuth 2.1 4.1.1, 4.1.3).

At /authorize: PKCE is required of every client and only S256 is accepted; a request without
it, with `plain`, or with a challenge that is not 43-128 unreserved characters is sent back to
the client's redirect URI with `invalid_request` (RFC 6749 4.1.2.1) and opens no transaction.

At /token: a code is redeemed only with its own verifier, by the client it was issued to, at
the redirect URI it was issued for, for the resource it was issued for, within its lifetime and
once. A code is single-use from its first presentation, failed or not; a code presented again
(by anyone) ends the grant it issued, so the tokens of the first use stop working (RFC 6749
4.1.2, RFC 9700 4.5.3.1)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from attack_support import live_grants, userinfo_status

from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import (
    LOOPBACK_REDIRECT,
    Authorized,
    authorize,
    exchange,
    pkce_pair,
)
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

OTHER = "other-public"
OTHER_REDIRECT = "http://127.0.0.1/other"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"clients": (ClientConfig(client_id=OTHER, redirect_uris=(OTHER_REDIRECT,)),)}


# /authorize: downgrade and malformed challenges --------------------------------------------

_, GOOD_CHALLENGE = pkce_pair()
CHALLENGES: dict[str, dict[str, str | None]] = {
    "plain-method": {"code_challenge_method": "plain"},
    "lowercase-method": {"code_challenge_method": "s256"},
    "unknown-method": {"code_challenge_method": "S512"},
    "missing-method": {"code_challenge_method": None},
    "missing-challenge": {"code_challenge": None},
    "missing-both": {"code_challenge": None, "code_challenge_method": None},
    "empty-challenge": {"code_challenge": ""},
    "too-short-42": {"code_challenge": GOOD_CHALLENGE[:42]},
    "padded-base64": {"code_challenge": GOOD_CHALLENGE + "="},
    "standard-base64-chars": {"code_challenge": "+/" + GOOD_CHALLENGE[2:]},
    "space-in-challenge": {"code_challenge": GOOD_CHALLENGE[:20] + " " + GOOD_CHALLENGE[21:]},
    "non-ascii-challenge": {"code_challenge": "é" * 43},
    "repeated-challenge": {"code_challenge": "DUPLICATE"},
    "repeated-method": {"code_challenge_method": "DUPLICATE"},
}


def _query(overrides: dict[str, str | None]) -> str:
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", "mcp-public-client"),
        ("redirect_uri", LOOPBACK_REDIRECT),
        ("state", "st"),
    ]
    values: dict[str, str | None] = {
        "code_challenge": GOOD_CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    for name, value in values.items():
        if value == "DUPLICATE":
            original = GOOD_CHALLENGE if name == "code_challenge" else "S256"
            params += [(name, original), (name, "plain" if name.endswith("method") else "x")]
        elif value is not None:
            params.append((name, value))
    return "/authorize?" + urlencode(params)


@pytest.mark.parametrize("overrides", CHALLENGES.values(), ids=CHALLENGES.keys())
async def test_a_weak_or_malformed_challenge_is_sent_back(
    stack: Stack, overrides: dict[str, str | None]
) -> None:
    async with stack.browser() as browser:
        answer = await browser.get(_query(overrides))
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == LOOPBACK_REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["st"]
    assert query["iss"] == [stack.settings.issuer]
    assert "code" not in query
    assert stack.count("transactions") == 0


async def test_an_overlong_challenge_gets_the_page(stack: Stack) -> None:
    """Over the contract's 128 characters: refused before the client is even looked at."""
    async with stack.browser() as browser:
        answer = await browser.get(_query({"code_challenge": "a" * 129}))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert stack.count("transactions") == 0


# /token: verifiers and code injection ------------------------------------------------------


@dataclass
class Redemption:
    """How the attacker presents the code (overrides of the token request's fields; a None
    drops the field), and the refusal it must get."""

    overrides: Callable[[Authorized, Authorized], dict[str, str | None]]
    status: int
    error: str
    # Whether the honest redemption afterwards still works (False: the code is spent, and the
    # attempt ended the grant).
    code_survives: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


REDEMPTIONS = {
    "missing-verifier": Redemption(lambda a, b: {"code_verifier": None}, 400, "invalid_request"),
    "empty-verifier": Redemption(lambda a, b: {"code_verifier": ""}, 400, "invalid_request"),
    "wrong-verifier": Redemption(
        lambda a, b: {"code_verifier": pkce_pair()[0]}, 400, "invalid_grant"
    ),
    "verifier-of-another-code": Redemption(
        lambda a, b: {"code_verifier": b.verifier}, 400, "invalid_grant"
    ),
    "challenge-as-verifier-plain-downgrade": Redemption(
        lambda a, b: {"code_verifier": _challenge_of(a)}, 400, "invalid_grant"
    ),
    "verifier-too-short": Redemption(
        lambda a, b: {"code_verifier": a.verifier[:42]}, 400, "invalid_request"
    ),
    "verifier-bad-charset": Redemption(
        lambda a, b: {"code_verifier": a.verifier[:-1] + "!"}, 400, "invalid_request"
    ),
    "verifier-too-long": Redemption(
        lambda a, b: {"code_verifier": "a" * 129}, 400, "invalid_request"
    ),
    "code-of-client-a-by-client-b": Redemption(
        lambda a, b: {"client_id": OTHER, "redirect_uri": OTHER_REDIRECT}, 400, "invalid_grant"
    ),
    "other-redirect-uri": Redemption(
        lambda a, b: {"redirect_uri": "http://127.0.0.1:53682/elsewhere"}, 400, "invalid_grant"
    ),
    "missing-redirect-uri": Redemption(lambda a, b: {"redirect_uri": None}, 400, "invalid_grant"),
    # Refused before the code is looked up: the code stays good for its own client.
    "other-resource": Redemption(
        lambda a, b: {"resource": "https://elsewhere.example/mcp"}, 400, "invalid_target",
        code_survives=True,
    ),
    # No HTTP Basic: 400 (RFC 6749 5.2), and the code is not looked up for an unknown client.
    "unknown-client": Redemption(lambda a, b: {"client_id": "nobody"}, 400, "invalid_client",
                                 code_survives=True),
    "forged-code": Redemption(lambda a, b: {"code": a.code[:-2] + "AA"}, 400, "invalid_grant",
                              code_survives=True),
    "missing-code": Redemption(lambda a, b: {"code": None}, 400, "invalid_request",
                               code_survives=True),
}

def _challenge_of(authorized: Authorized) -> str:
    digest = hashlib.sha256(authorized.verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def _post_token(stack: Stack, authorized: Authorized, overrides: dict[str, Any]) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": authorized.code,
        "redirect_uri": authorized.redirect_uri,
        "client_id": authorized.client_id,
        "code_verifier": authorized.verifier,
        **overrides,
    }
    return await stack.http.post("/token", data={k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize("redemption", REDEMPTIONS.values(), ids=REDEMPTIONS.keys())
async def test_a_code_is_redeemed_only_as_issued(stack: Stack, redemption: Redemption) -> None:
    victim = await authorize(stack)
    other = await authorize(stack)
    grants_before = live_grants(stack)
    answer = await _post_token(stack, victim, redemption.overrides(victim, other))
    assert answer.status_code == redemption.status, answer.text
    assert answer.json()["error"] == redemption.error
    assert "access_token" not in answer.json()
    assert stack.count("refresh_tokens") == 0  # nothing issued

    honest = await exchange(stack, victim)
    if redemption.code_survives:
        assert honest.status_code == 200, honest.text
        return
    # The code was spent by the attempt; presenting it again ends its grant.
    assert honest.status_code == 400, honest.text
    assert honest.json()["error"] == "invalid_grant"
    assert stack.count("refresh_tokens") == 0
    assert live_grants(stack) == grants_before - 1


Replay = Callable[[Stack, Authorized], Awaitable[Any]]


async def _same_client(stack: Stack, authorized: Authorized) -> Any:
    return await exchange(stack, authorized)


async def _other_client(stack: Stack, authorized: Authorized) -> Any:
    return await exchange(stack, authorized, client_id=OTHER, redirect_uri=OTHER_REDIRECT)


async def _after_expiry(stack: Stack, authorized: Authorized) -> Any:
    stack.clock.advance(stack.settings.code_ttl + 1)
    return await exchange(stack, authorized)


# (replay, whether it revokes): a replay within the code's lifetime revokes; after it the
# used code's record is gone (purged with its TTL), the replay is only refused ("SHOULD revoke
# ... when possible", RFC 6749 4.1.2).
REPLAYS: dict[str, tuple[Replay, bool]] = {
    "same-client-again": (_same_client, True),
    "other-client": (_other_client, True),
    "after-the-code-expired": (_after_expiry, False),
}


@pytest.mark.parametrize(("replay", "revokes"), REPLAYS.values(), ids=REPLAYS.keys())
async def test_a_code_used_twice_revokes_what_its_first_use_issued(
    stack: Stack, replay: Replay, revokes: bool
) -> None:
    authorized = await authorize(stack)
    first = await exchange(stack, authorized)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert await userinfo_status(stack, tokens["access_token"]) == 200

    again = await replay(stack, authorized)
    assert again.status_code == 400, again.text
    assert again.json()["error"] == "invalid_grant"
    assert "access_token" not in again.json()

    if not revokes:
        assert await userinfo_status(stack, tokens["access_token"]) == 200
        assert live_grants(stack) == 1
        return
    assert await userinfo_status(stack, tokens["access_token"]) == 401
    assert live_grants(stack) == 0
    refreshed = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": authorized.client_id,
        },
    )
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


async def test_an_expired_code_is_refused(stack: Stack) -> None:
    authorized = await authorize(stack)
    stack.clock.advance(stack.settings.code_ttl + 1)
    answer = await exchange(stack, authorized)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_grant"
    assert stack.count("refresh_tokens") == 0
