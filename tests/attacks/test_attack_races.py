"""Races on single-use credentials, 50 concurrent requests each (Authlib's grants run in worker
threads, so the store's atomic transitions are what decides): one authorization code redeemed
50 times at once; one refresh token presented 50 times at once by its own client (within the
grace window, IB_BRIDGE_REFRESH_GRACE_SECONDS, and with the window off), by another client, and
by both at once; one finished sign-in polled 50 times at once. tests/inprocess/
test_refresh_grace.py covers the grace window's sequential rules; this table adds the width."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from attack_support import live_grants, userinfo_status

from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import authorize, exchange, pkce_pair, sign_in_at_ib, start_login, tokens
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

WIDTH = 50
OTHER = "other-public"
OTHER_REDIRECT = "http://127.0.0.1/other"


async def at_once(request: Callable[[int], Awaitable[httpx.Response]]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []

    async def one(index: int) -> None:
        answers.append(await request(index))

    async with anyio.create_task_group() as group:
        for index in range(WIDTH):
            group.start_soon(one, index)
    assert len(answers) == WIDTH
    return answers


def outcome(answers: list[httpx.Response]) -> Counter[str]:
    return Counter(
        "ok" if a.status_code == 200 else f"{a.status_code} {a.json().get('error')}"
        for a in answers
    )


def refresh_as(stack: Stack, token: str, client_id: str) -> Callable[[int], Awaitable[Any]]:
    async def request(_: int) -> httpx.Response:
        return await stack.http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
        )

    return request


@dataclass
class Race:
    name: str
    grace: int
    run: Callable[[Stack], Awaitable[None]]


async def code_redeemed_at_once(stack: Stack) -> None:
    authorized = await authorize(stack)
    answers = await at_once(lambda _: exchange(stack, authorized))
    counts = outcome(answers)
    # At most one redemption issues tokens; every other is a replay, which ends the grant, so
    # whatever the one issued is dead too (RFC 6749 4.1.2).
    assert counts["ok"] <= 1, counts
    assert counts["400 invalid_grant"] == WIDTH - counts["ok"], counts
    for answer in answers:
        if answer.status_code == 200:
            assert await userinfo_status(stack, answer.json()["access_token"]) == 401
    assert live_grants(stack) == 0


async def code_redeemed_at_once_then_nothing_lives(stack: Stack) -> None:
    """The same race with one well-formed redemption and 49 attackers of another client."""
    authorized = await authorize(stack)

    async def request(index: int) -> httpx.Response:
        if index == 0:
            return await exchange(stack, authorized)
        return await exchange(stack, authorized, client_id=OTHER, redirect_uri=OTHER_REDIRECT)

    counts = outcome(await at_once(request))
    assert counts["ok"] <= 1, counts
    assert counts["400 invalid_grant"] == WIDTH - counts["ok"], counts
    assert live_grants(stack) == 0


async def refresh_by_owner_in_grace(stack: Stack) -> None:
    first = await tokens(stack)
    answers = await at_once(refresh_as(stack, first["refresh_token"], "mcp-public-client"))
    assert outcome(answers) == Counter({"ok": WIDTH})
    pairs = {(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}
    assert len(pairs) == 1, "one rotation, its answer repeated"
    access, successor = pairs.pop()
    assert await userinfo_status(stack, access) == 200
    assert live_grants(stack) == 1
    assert (await refresh_as(stack, successor, "mcp-public-client")(0)).status_code == 200


async def refresh_by_owner_without_grace(stack: Stack) -> None:
    first = await tokens(stack)
    answers = await at_once(refresh_as(stack, first["refresh_token"], "mcp-public-client"))
    counts = outcome(answers)
    assert counts["ok"] <= 1, counts
    assert counts["400 invalid_grant"] == WIDTH - counts["ok"], counts
    for answer in answers:
        if answer.status_code == 200:
            assert await userinfo_status(stack, answer.json()["access_token"]) == 401
    assert live_grants(stack) == 0


async def refresh_by_another_client(stack: Stack) -> None:
    first = await tokens(stack)
    counts = outcome(await at_once(refresh_as(stack, first["refresh_token"], OTHER)))
    assert counts == Counter({"400 invalid_grant": WIDTH}), counts
    assert await userinfo_status(stack, first["access_token"]) == 401
    assert live_grants(stack) == 0


async def refresh_by_owner_and_thief(stack: Stack) -> None:
    first = await tokens(stack)
    owner = refresh_as(stack, first["refresh_token"], "mcp-public-client")
    thief = refresh_as(stack, first["refresh_token"], OTHER)
    answers = await at_once(lambda i: owner(i) if i % 2 == 0 else thief(i))
    counts = outcome(answers)
    assert counts["400 invalid_grant"] >= WIDTH // 2, counts  # every thief, at least
    for answer in answers:
        if answer.status_code == 200:
            assert await userinfo_status(stack, answer.json()["access_token"]) == 401
    assert await userinfo_status(stack, first["access_token"]) == 401
    assert live_grants(stack) == 0


async def finished_sign_in_polled_at_once(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="race")
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(stack.settings.ib_poll_interval)
        answers = await at_once(lambda _: browser.get("/authorize/status"))
    codes = set()
    for answer in answers:
        assert answer.status_code in {200, 429}, answer.text
        body = answer.json()
        if answer.status_code == 200 and body["status"] == "done":
            codes.add(parse_qs(urlsplit(body["redirect_to"]).query)["code"][0])
    assert len(codes) <= 1, "one sign-in, one code"
    assert live_grants(stack) == 1
    assert stack.count("codes") == 1


RACES = [
    Race("one-code-50-redemptions", 30, code_redeemed_at_once),
    Race("one-code-owner-and-49-other-clients", 30, code_redeemed_at_once_then_nothing_lives),
    Race("refresh-50-by-owner-in-grace", 30, refresh_by_owner_in_grace),
    Race("refresh-50-by-owner-grace-off", 0, refresh_by_owner_without_grace),
    Race("refresh-50-by-another-client", 30, refresh_by_another_client),
    Race("refresh-25-owner-25-thief", 30, refresh_by_owner_and_thief),
    Race("finished-sign-in-polled-50-times", 30, finished_sign_in_polled_at_once),
]


@pytest.mark.parametrize("race", RACES, ids=[r.name for r in RACES])
async def test_race(tmp_path: Any, race: Race) -> None:
    async with open_stack(
        tmp_path,
        refresh_grace_seconds=race.grace,
        clients=(ClientConfig(client_id=OTHER, redirect_uris=(OTHER_REDIRECT,)),),
    ) as stack:
        await race.run(stack)
