"""The no-JS login page's "Start again": once the sign-in has ended (its record expired, or its
cookie, which lives as long, is gone), the error page links to the app's very same
authorization request, which the page's forms carried; a post from another site, or a request
that names no client, gets no link."""

from __future__ import annotations

import html
from urllib.parse import urlencode

import pytest

from inprocess_flow import authorize_path, form_value, pkce_pair
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

ORIGIN = {"Origin": ISSUER}


def restart_link(page: str) -> str | None:
    marker = 'id="restart" href="'
    if marker not in page:
        return None
    return html.unescape(page.split(marker, 1)[1].split('"', 1)[0])


async def test_an_expired_sign_in_links_to_the_same_request(stack: Stack) -> None:
    _, challenge = pkce_pair()
    path = authorize_path(challenge=challenge, state="again")
    async with stack.browser() as browser:
        page = await browser.get(path)
        csrf = form_value(page.text, "csrf_token")
        restart = form_value(page.text, "restart")
        assert html.unescape(restart) == path.split("?", 1)[1]
        started = await browser.post(
            "/authorize/platform",
            data={
                "platform_url": stack.emulator.platform_url,
                "csrf_token": csrf,
                "restart": html.unescape(restart),
            },
            headers=ORIGIN,
        )
        assert started.status_code == 200
        # The platform step's page carries the request on, to its Continue form.
        assert html.unescape(form_value(started.text, "restart")) == path.split("?", 1)[1]
        stack.clock.advance(stack.settings.login_ttl + 1)
        ended = await browser.post(
            "/authorize/continue",
            data={"csrf_token": csrf, "restart": html.unescape(restart)},
            headers=ORIGIN,
        )
    assert ended.status_code in {403, 410}
    assert restart_link(ended.text) == path


async def test_a_post_from_another_site_gets_no_link(stack: Stack) -> None:
    _, challenge = pkce_pair()
    query = authorize_path(challenge=challenge, state="x").split("?", 1)[1]
    async with stack.browser() as browser:  # no sign-in: no cookie
        same_site = await browser.post(
            "/authorize/continue", data={"csrf_token": "x", "restart": query}, headers=ORIGIN
        )
        cross_site = await browser.post(
            "/authorize/continue",
            data={"csrf_token": "x", "restart": query},
            headers={"Origin": "https://evil.example"},
        )
    assert same_site.status_code == cross_site.status_code == 403
    assert restart_link(same_site.text) == f"/authorize?{query}"
    assert restart_link(cross_site.text) is None


@pytest.mark.parametrize(
    "restart",
    [
        "",
        urlencode({"response_type": "code"}),  # names no client
        "//evil.example/authorize?client_id=a&response_type=code&" + "x" * 9000,  # too long
    ],
)
async def test_only_an_authorization_request_gives_a_link(stack: Stack, restart: str) -> None:
    async with stack.browser() as browser:
        page = await browser.post(
            "/authorize/continue", data={"csrf_token": "x", "restart": restart}, headers=ORIGIN
        )
    assert page.status_code == 403
    assert restart_link(page.text) is None
