"""Refresh with grace: the same client retrying the refresh it just made (its answer was lost)
gets the same answer again within IB_BRIDGE_REFRESH_GRACE_SECONDS, instead of a revocation;
any other reuse of a rotated refresh token still revokes the grant (RFC 9700 4.14.2)."""

from __future__ import annotations

import sqlite3
from typing import Any

import anyio
import httpx
import pytest

from ib_oauth_bridge.settings import ClientConfig
from ib_oauth_bridge.store.records import secret_hash
from inprocess_flow import refresh, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

OTHER_CLIENT = "other-public"
GRACE = 30


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "refresh_grace_seconds": GRACE,
        "clients": (
            ClientConfig(client_id=OTHER_CLIENT, redirect_uris=("http://127.0.0.1/other",)),
        ),
    }


async def userinfo_status(stack: Stack, access_token: str) -> int:
    answer = await stack.http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return answer.status_code


async def assert_revoked(stack: Stack, *access_tokens: str) -> None:
    for token in access_tokens:
        assert await userinfo_status(stack, token) == 401


def pair(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["access_token"], body["refresh_token"]


def refresh_count(stack: Stack) -> int:
    with sqlite3.connect(stack.store.path) as db:
        count: int = db.execute("SELECT refresh_count FROM grants").fetchone()[0]
    return count


async def test_concurrent_retries_get_the_same_pair_and_the_grant_lives(stack: Stack) -> None:
    first = await tokens(stack)
    answers: list[httpx.Response] = []

    async def one() -> None:
        answers.append(await refresh(stack, first["refresh_token"]))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one)
    pairs = {pair(answer) for answer in answers}
    assert len(answers) == 10
    assert len(pairs) == 1, "every retry got the rotation's own answer"
    access_token, refresh_token = pairs.pop()
    assert refresh_token != first["refresh_token"]
    # The grant lives, counted one rotation, and the successor is the live token.
    assert await userinfo_status(stack, access_token) == 200
    assert refresh_count(stack) == 1
    assert (await refresh(stack, refresh_token)).status_code == 200


async def test_a_retry_after_a_lost_answer_gets_the_same_answer(stack: Stack) -> None:
    first = await tokens(stack, scope="openid ib.read")
    lost = await refresh(stack, first["refresh_token"])
    stack.clock.advance(GRACE - 1)
    retried = await refresh(stack, first["refresh_token"])
    assert pair(retried) == pair(lost)
    assert retried.json()["id_token"] == lost.json()["id_token"]
    assert retried.json()["expires_in"] == lost.json()["expires_in"] - (GRACE - 1)
    assert refresh_count(stack) == 1
    assert await userinfo_status(stack, retried.json()["access_token"]) == 200


async def test_a_retry_after_the_window_revokes(stack: Stack) -> None:
    first = await tokens(stack)
    rotated = pair(await refresh(stack, first["refresh_token"]))
    stack.clock.advance(GRACE + 1)
    late = await refresh(stack, first["refresh_token"])
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    await assert_revoked(stack, rotated[0])
    assert (await refresh(stack, rotated[1])).json()["error"] == "invalid_grant"


async def test_reuse_by_another_client_revokes(stack: Stack) -> None:
    first = await tokens(stack)
    rotated = pair(await refresh(stack, first["refresh_token"]))
    stolen = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": OTHER_CLIENT,
        },
    )
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    await assert_revoked(stack, rotated[0])


async def test_a_retry_after_the_successor_was_used_revokes(stack: Stack) -> None:
    first = await tokens(stack)
    rotated = pair(await refresh(stack, first["refresh_token"]))
    newest = pair(await refresh(stack, rotated[1]))
    replay = await refresh(stack, first["refresh_token"])
    assert replay.json()["error"] == "invalid_grant"
    await assert_revoked(stack, newest[0])


async def test_the_kept_answer_is_sealed_and_goes_with_the_window(stack: Stack) -> None:
    first = await tokens(stack)
    access_token, refresh_token = pair(await refresh(stack, first["refresh_token"]))
    key = secret_hash(first["refresh_token"])

    def kept() -> str | None:
        with sqlite3.connect(stack.store.path) as db:
            row = db.execute(
                "SELECT successor FROM refresh_tokens WHERE key_hash = ?", (key,)
            ).fetchone()
        value: str | None = row[0]
        return value

    sealed = kept()
    assert sealed is not None
    assert refresh_token not in sealed
    assert access_token not in sealed
    assert "refresh_token" not in sealed
    stack.clock.advance(GRACE + 1)
    await stack.store.purge_expired()
    assert kept() is None


async def test_a_copied_answer_is_not_repeated(stack: Stack) -> None:
    """The kept answer is bound to its token's hash: moved to another rotated token's row it
    does not open, and presenting that token is a replay."""
    a = await tokens(stack)
    pair(await refresh(stack, a["refresh_token"]))
    b = await tokens(stack)
    b_rotated = pair(await refresh(stack, b["refresh_token"]))
    with sqlite3.connect(stack.store.path) as db:
        sealed_a = db.execute(
            "SELECT successor FROM refresh_tokens WHERE key_hash = ?",
            (secret_hash(a["refresh_token"]),),
        ).fetchone()[0]
        db.execute(
            "UPDATE refresh_tokens SET successor = ? WHERE key_hash = ?",
            (sealed_a, secret_hash(b["refresh_token"])),
        )
    replay = await refresh(stack, b["refresh_token"])
    assert replay.json()["error"] == "invalid_grant"
    await assert_revoked(stack, b_rotated[0])


@pytest.mark.parametrize("settings_overrides", [{"refresh_grace_seconds": 0}])
async def test_no_grace_when_turned_off(stack: Stack) -> None:
    first = await tokens(stack)
    rotated = pair(await refresh(stack, first["refresh_token"]))
    again = await refresh(stack, first["refresh_token"])
    assert again.json()["error"] == "invalid_grant"
    await assert_revoked(stack, rotated[0])


@pytest.mark.parametrize(
    "settings_overrides", [{"refresh_grace_seconds": GRACE, "max_refreshes": 2}]
)
async def test_retries_count_as_one_refresh(stack: Stack) -> None:
    first = await tokens(stack)
    rotated = pair(await refresh(stack, first["refresh_token"]))
    for _ in range(3):
        assert pair(await refresh(stack, first["refresh_token"])) == rotated
    second = pair(await refresh(stack, rotated[1]))  # the second refresh of two allowed
    assert await userinfo_status(stack, second[0]) == 200
    assert refresh_count(stack) == 2


@pytest.mark.parametrize(
    "settings_overrides", [{"refresh_grace_seconds": GRACE, "refresh_idle_timeout": 10}]
)
async def test_a_retry_repeats_nothing_for_a_grant_that_ended(stack: Stack) -> None:
    """No grace past the grant's end: a rotated token expires with its grant's idle timeout and
    IB session, like every refresh token, and so does the answer kept on it."""
    first = await tokens(stack)
    pair(await refresh(stack, first["refresh_token"]))
    stack.clock.advance(20)  # within the grace window, past the idle timeout
    retried = await refresh(stack, first["refresh_token"])
    assert retried.status_code == 400, retried.text
    assert retried.json()["error"] == "invalid_grant"
