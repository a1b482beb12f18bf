"""Helpers for the contract tests: fresh login transactions (cookie + CSRF token) as a browser
holds them after opening /authorize."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from flow import authorize_url, form_value, pkce_pair


@dataclass(frozen=True)
class LoginTransaction:
    cookie: str
    csrf_token: str


def open_login(bridge_url: str) -> LoginTransaction:
    """Open /authorize as a browser would; the login cookie and the page's CSRF token."""
    _, challenge = pkce_pair()
    page = httpx.get(authorize_url(bridge_url, challenge=challenge, state="contract"), timeout=10)
    assert page.status_code == 200, page.text
    match = re.search(r"ib_bridge_login=([^;]+)", page.headers["set-cookie"])
    assert match, page.headers["set-cookie"]
    return LoginTransaction(match.group(1), form_value(page.text, "csrf_token"))
