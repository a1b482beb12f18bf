"""Refusing well under attack: rate limits per address, client, login and grant; bounded
anonymous work per address and per login transaction; expired records purged while running.

Each over-limit answer is checked for what it must not do as well: nothing stored
(`stack.count("transactions")`), no call to IB (`stack.ib_calls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from ib_oauth_bridge.app import create_app
from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.housekeeping import purge_once, purge_periodically
from ib_oauth_bridge.settings import ClientConfig
from ib_oauth_bridge.store import SQLiteStore
from inprocess_flow import (
    CLIENT_ID,
    LOOPBACK_REDIRECT,
    authorize_path,
    form_value,
    pkce_pair,
    start_login,
)
from inprocess_stack import ISSUER, Stack, make_settings

pytestmark = pytest.mark.anyio

JSON = {"Accept": "application/json", "Origin": ISSUER}


def limits(**values: Any) -> Any:
    return pytest.mark.parametrize("settings_overrides", [values])


@contextlib.asynccontextmanager
async def browser_at(stack: Stack, address: str) -> Any:
    """A browser of its own (cookie jar) connecting from `address`."""
    app = stack.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as browser:
        yield browser


async def open_page(browser: httpx.AsyncClient) -> httpx.Response:
    _, challenge = pkce_pair()
    return await browser.get(authorize_path(challenge=challenge, state="s"))


async def submit(stack: Stack, browser: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    return await browser.post(
        "/authorize/platform",
        data={
            "platform_url": stack.emulator.platform_url,
            "csrf_token": form_value(page.text, "csrf_token"),
        },
        headers=JSON,
    )


def assert_rate_limited_json(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] == "rate_limited"
    assert answer.json()["error_description"]
    retry_after = int(answer.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


def stored_transaction(stack: Stack) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(stack.store.path)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM transactions").fetchall()
    assert len(rows) == 1
    return dict(rows[0])


# /authorize: per address, and unfinished logins per address -----------------------------------


@limits(authorize_rate_limit="2/minute")
async def test_authorize_beyond_the_address_rate_gets_an_html_429(stack: Stack) -> None:
    async with stack.browser() as browser:
        for _ in range(2):
            assert (await open_page(browser)).status_code == 200
        refused = await open_page(browser)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many" in refused.text
    assert "ib_bridge_login" not in refused.headers.get("set-cookie", "")
    assert stack.count("transactions") == 2  # the refused request stored nothing
    async with browser_at(stack, "192.0.2.10") as elsewhere:  # another address: its own limit
        assert (await open_page(elsewhere)).status_code == 200


@limits(login_max_pending_per_address=2)
async def test_unfinished_logins_per_address_are_capped(stack: Stack) -> None:
    async with stack.browser() as first, stack.browser() as second, stack.browser() as third:
        page = await open_page(first)
        assert page.status_code == 200
        assert (await open_page(second)).status_code == 200
        refused = await open_page(third)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/html")
        assert int(refused.headers["retry-after"]) >= 1
        assert stack.count("transactions") == 2
        # Finishing one (here: cancelling it) makes room for another.
        cancelled = await first.post(
            "/authorize/cancel",
            data={"csrf_token": form_value(page.text, "csrf_token")},
            headers={"Origin": ISSUER},
        )
        assert cancelled.status_code == 303
        assert (await open_page(third)).status_code == 200
    async with browser_at(stack, "192.0.2.11") as elsewhere:
        assert (await open_page(elsewhere)).status_code == 200


@limits(login_max_pending_per_address=1)
async def test_expired_logins_no_longer_count_against_the_address(stack: Stack) -> None:
    async with stack.browser() as browser:
        assert (await open_page(browser)).status_code == 200
        assert (await open_page(browser)).status_code == 429
        stack.clock.advance(stack.settings.login_ttl)
        assert (await open_page(browser)).status_code == 200


async def test_the_store_keeps_a_keyed_hash_of_the_address_never_the_address(
    stack: Stack,
) -> None:
    async with browser_at(stack, "198.51.100.23") as browser:
        assert (await open_page(browser)).status_code == 200
    row = stored_transaction(stack)
    assert row["address_hash"]
    assert row["address_hash"] == stack.bridge.limits.rates.address_hash("198.51.100.23")
    assert not any("198.51.100.23" in str(value) for value in row.values())
    # Keyed: not the plain SHA-256 of the address, which anyone could compute for every IPv4.
    import hashlib

    assert hashlib.sha256(b"198.51.100.23").hexdigest()[:32] != row["address_hash"]


# Per login transaction: submissions, IB calls, polling rate ----------------------------------


@limits(login_max_submissions=2)
async def test_platform_submissions_per_login_are_capped(stack: Stack) -> None:
    async with stack.browser() as browser:
        page = await open_page(browser)
        for _ in range(2):
            assert (await submit(stack, browser, page)).status_code == 200
        calls = list(stack.ib_calls)
        assert calls.count("/v1/auth/app/token") == 2
        before = stored_transaction(stack)
        refused = await submit(stack, browser, page)
    assert refused.status_code == 403
    assert refused.json()["error"] == "access_denied"
    assert "too many times" in refused.json()["error_description"]
    assert stack.ib_calls == calls  # no IB call made
    assert stored_transaction(stack) == before  # nothing stored
    assert (before["submissions"], before["ib_calls"]) == (2, 2)


@limits(login_max_ib_calls=3)
async def test_ib_calls_per_login_are_capped_across_submissions_and_polls(stack: Stack) -> None:
    async with stack.browser() as browser:
        page = await open_page(browser)
        assert (await submit(stack, browser, page)).status_code == 200  # IB call 1
        for _ in range(2):  # IB calls 2 and 3
            stack.clock.advance(stack.settings.ib_poll_interval)
            assert (await browser.get("/authorize/status")).json()["status"] == "pending"
        calls = list(stack.ib_calls)
        assert calls.count("/v1/auth/app/info") == 2
        before = stored_transaction(stack)
        stack.clock.advance(stack.settings.ib_poll_interval)
        refused = await browser.get("/authorize/status")
        assert refused.status_code == 403
        assert refused.json()["error"] == "access_denied"
        assert stack.ib_calls == calls
        # A new submission would be one more IB call: refused as well.
        resubmitted = await submit(stack, browser, page)
        assert resubmitted.status_code == 403
        assert stack.ib_calls == calls
        after = stored_transaction(stack)
    assert after == before
    assert after["ib_calls"] == 3


@limits(login_poll_rate_limit="3/minute")
async def test_polling_rate_is_limited_per_login(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser, stack.browser() as other:
        page = await open_page(browser)
        assert (await submit(stack, browser, page)).status_code == 200
        await start_login(stack, other, challenge=challenge, state="t")
        for _ in range(3):
            stack.clock.advance(stack.settings.ib_poll_interval)
            assert (await browser.get("/authorize/status")).status_code == 200
        calls = list(stack.ib_calls)
        stack.clock.advance(stack.settings.ib_poll_interval)
        refused = await browser.get("/authorize/status")
        assert_rate_limited_json(refused)
        assert stack.ib_calls == calls  # refused before IB was asked
        # The no-JS Continue button polls too, and counts against the same login.
        csrf = {"csrf_token": form_value(page.text, "csrf_token")}
        continued = await browser.post("/authorize/continue", data=csrf, headers=JSON)
        assert continued.status_code == 429
        # Another login (same address) polls on.
        assert (await other.get("/authorize/status")).status_code == 200


@limits(login_rate_limit="3/minute")
async def test_login_page_endpoints_are_limited_per_address(stack: Stack) -> None:
    async with stack.browser() as browser:
        page = await open_page(browser)  # /authorize has its own limit
        assert (await submit(stack, browser, page)).status_code == 200
        assert (await browser.get("/authorize/status")).status_code == 200
        assert (await browser.get("/authorize/status")).status_code == 200
        calls = list(stack.ib_calls)
        refused = await submit(stack, browser, page)
        assert_rate_limited_json(refused)
        assert stack.ib_calls == calls
        # Without JavaScript the same refusal is an HTML page, with the same header.
        page_refusal = await browser.post(
            "/authorize/cancel",
            data={"csrf_token": form_value(page.text, "csrf_token")},
            headers={"Origin": ISSUER},
        )
        assert page_refusal.status_code == 429
        assert page_refusal.headers["content-type"].startswith("text/html")
        assert int(page_refusal.headers["retry-after"]) >= 1
    assert stack.count("transactions") == 1  # the cancel was refused, not carried out


# /token, /revoke, /introspect: per address and per confidential client ---------------------


@limits(token_rate_limit="3/minute")
async def test_token_revoke_and_introspect_share_a_limit_per_address(stack: Stack) -> None:
    bad_code = {"grant_type": "authorization_code", "code": "x", "client_id": CLIENT_ID,
                "redirect_uri": LOOPBACK_REDIRECT, "code_verifier": "v" * 43}
    assert (await stack.http.post("/token", data=bad_code)).status_code == 400
    revoke = {"token": "x", "client_id": CLIENT_ID}
    assert (await stack.http.post("/revoke", data=revoke)).status_code == 200
    assert (await stack.http.post("/introspect", data={"token": "x"})).status_code == 401
    for path, data in (("/token", bad_code), ("/revoke", revoke), ("/introspect", {})):
        assert_rate_limited_json(await stack.http.post(path, data=data))
    async with browser_at(stack, "192.0.2.12") as elsewhere:
        assert (await elsewhere.post("/token", data=bad_code)).status_code == 400


@limits(token_rate_limit="1/minute", cors_origins=("https://spa.example",))
async def test_a_browser_app_can_read_retry_after_cross_origin(stack: Stack) -> None:
    origin = {"Origin": "https://spa.example"}
    await stack.http.post("/revoke", data={"token": "x", "client_id": CLIENT_ID}, headers=origin)
    refused = await stack.http.post("/token", data={}, headers=origin)
    assert_rate_limited_json(refused)
    exposed = refused.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed.replace(" ", "").split(",")


CONFIDENTIAL = ClientConfig(
    client_id="web-app",
    client_secret="web-app-secret",
    token_endpoint_auth_method="client_secret_basic",
    redirect_uris=("https://app.example/callback",),
)


@limits(client_rate_limit="2/minute", clients=(CONFIDENTIAL,))
async def test_a_confidential_client_is_limited_once_it_has_authenticated(stack: Stack) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "not-a-token"}
    wrong = httpx.BasicAuth("web-app", "wrong-secret")
    right = httpx.BasicAuth("web-app", "web-app-secret")
    # Wrong secrets cost the real client nothing: only the address limit counts them.
    for _ in range(5):
        assert (await stack.http.post("/token", data=form, auth=wrong)).status_code == 401
    for _ in range(2):
        answer = await stack.http.post("/token", data=form, auth=right)
        assert answer.json()["error"] == "invalid_grant"
    assert_rate_limited_json(await stack.http.post("/token", data=form, auth=right))
    # The count is the client's, wherever it calls from, and covers /revoke too.
    async with browser_at(stack, "192.0.2.13") as elsewhere:
        refused = await elsewhere.post("/revoke", data={"token": "x"}, auth=right)
        assert_rate_limited_json(refused)
    # A public client's id is a label anyone may send: it is limited per address only.
    public = {**form, "client_id": CLIENT_ID}
    for _ in range(4):
        assert (await stack.http.post("/token", data=public)).status_code == 400


# Purging expired records while running -------------------------------------------------------


class Stop(Exception):
    """Ends the purge loop in a test after the rounds it wanted."""


def scripted_sleep(rounds: int, waits: list[float]) -> Any:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) > rounds:
            raise Stop

    return sleep


async def test_the_purge_loop_removes_expired_records_without_a_restart(stack: Stack) -> None:
    async with stack.browser() as browser:
        assert (await open_page(browser)).status_code == 200
    assert stack.count("transactions") == 1
    early: list[float] = []
    # One round before anything has expired: nothing goes.
    with pytest.raises(Stop):
        await purge_periodically(stack.store, 60, sleep=scripted_sleep(1, early), random=lambda: 0)
    assert stack.count("transactions") == 1
    stack.clock.advance(stack.settings.login_ttl)
    late: list[float] = []
    with pytest.raises(Stop):
        await purge_periodically(
            stack.store, 60, sleep=scripted_sleep(1, late), random=lambda: 0.999
        )
    assert stack.count("transactions") == 0
    # Jittered between half and one and a half intervals, so workers drift apart.
    assert early == [30, 30]
    assert all(89 < wait < 90 for wait in late)


async def test_a_failed_purge_is_logged_and_the_loop_goes_on(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0
    real = stack.store.purge_expired

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        return await real()

    stack.store.purge_expired = flaky  # type: ignore[method-assign]
    waits: list[float] = []
    with pytest.raises(Stop):
        await purge_periodically(stack.store, 10, sleep=scripted_sleep(2, waits))
    assert calls == 2
    assert "purging expired records failed" in caplog.text


async def test_purge_once_logs_the_count(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    async with stack.browser() as browser:
        await open_page(browser)
    stack.clock.advance(stack.settings.login_ttl)
    caplog.set_level("INFO", logger="ib_oauth_bridge")
    assert await purge_once(stack.store) == 1
    record = next(r for r in caplog.records if r.getMessage() == "expired records purged")
    assert record.purged == 1  # type: ignore[attr-defined]


async def test_the_app_runs_the_purge_task_and_cancels_it_at_shutdown(tmp_path: Path) -> None:
    settings = make_settings(EmulatorConfig(), tmp_path, purge_interval=3600.0)
    app = create_app(settings, store=SQLiteStore(tmp_path / "bridge.db"))

    def purge_tasks() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t.get_name() == "purge" and not t.done()]

    async with app.router.lifespan_context(app):
        await asyncio.sleep(0)  # let the task start (no time passes)
        running = purge_tasks()
        assert len(running) == 1
    assert running[0].cancelled()
    assert purge_tasks() == []

