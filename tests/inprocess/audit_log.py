"""Helpers for the audit tests: the audit log read back as events, clients at other
addresses, and sign-ins as a chosen emulator user."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from inprocess_flow import Authorized, pkce_pair, poll, sign_in_at_ib, start_login
from inprocess_stack import Stack


def events(path: Path, name: str | None = None) -> list[dict[str, Any]]:
    """The audit log's events, in order; only those named `name` when given."""
    if not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [event for event in found if name is None or event["event"] == name]


def names(path: Path) -> list[str]:
    return [event["event"] for event in events(path)]


def at(stack: Stack, ip: str, **headers: str) -> httpx.AsyncClient:
    """A client of the bridge whose connection comes from `ip` (no cookies kept between
    clients; one client keeps its own, like a browser)."""
    app = stack.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=stack.settings.issuer, headers=headers)


async def authorize_as(
    stack: Stack, username: str = "demo", ip: str = "127.0.0.1", **extra: str
) -> Authorized:
    """The whole sign-in as `username` (whose emulator password is the same), from `ip`."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    async with at(stack, ip) as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state=state, **extra)
        await sign_in_at_ib(stack, login_url, username)
        status = await poll(stack, browser)
    assert status["status"] == "done", status
    query = {k: v[0] for k, v in parse_qs(urlsplit(status["redirect_to"]).query).items()}
    return Authorized(query["code"], query["state"], query["iss"], verifier)


async def exchange_from(
    stack: Stack, authorized: Authorized, ip: str, **overrides: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": authorized.code,
        "redirect_uri": authorized.redirect_uri,
        "client_id": authorized.client_id,
        "code_verifier": authorized.verifier,
        **overrides,
    }
    async with at(stack, ip) as client:
        return await client.post("/token", data=data)
