"""Two bridge processes (two hosts behind one load balancer, as far as a client can tell) on one
store: one Redis, or one SQLite file. A login started on one completes on the other, a code
issued through one is exchanged on the other, refresh tokens rotate across them, the proxy
serves on both, and a revocation on one is refused on the other within a second. A bridge killed
with SIGKILL mid-flow loses nothing: the other finishes the sign-in. One refresh token raced on
both at once follows the rotation rules: the same client within the grace window gets one pair
on both; another client's use gets at most one success, and the grant is revoked."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow import (
    LOOPBACK_REDIRECT,
    Authorized,
    authorize,
    exchange,
    pkce_pair,
    refresh,
    sign_in_at_ib,
    start_login,
    wait_for_redirect,
)
from servers import Bridge, Emulator, bridge_env, free_port

BACKENDS = ["redis", "sqlite"]


@pytest.fixture(params=BACKENDS)
def bridges(
    request: pytest.FixtureRequest, emulator: Emulator, tmp_path: Path
) -> Iterator[tuple[Bridge, Bridge]]:
    """A and B: the same issuer, keys and secrets (one deployment), the same store."""
    if request.param == "redis":
        store_url = request.getfixturevalue("redis_server").url_for_test()
    else:
        (tmp_path / "shared").mkdir()
        store_url = f"sqlite:///{tmp_path / 'shared' / 'bridge.db'}"
    port_a, port_b = free_port(), free_port()
    env = bridge_env(port_a, emulator, tmp_path / "a", IB_BRIDGE_STORE_URL=store_url)
    a = Bridge(port_a, tmp_path / "a", env)
    b = Bridge(port_b, tmp_path / "b", {**env, "IB_BRIDGE_DATA_DIR": str(tmp_path / "b")})
    a.start()
    try:
        b.start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
    # Nothing went to a store of each host's own.
    assert not list((tmp_path / "a").glob("*.db"))
    assert not list((tmp_path / "b").glob("*.db"))


def userinfo(bridge: Bridge, access_token: str) -> httpx.Response:
    return httpx.get(f"{bridge.url}/userinfo",
                     headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_one_sign_in_across_two_bridges(
    bridges: tuple[Bridge, Bridge], emulator: Emulator
) -> None:
    a, b = bridges
    verifier, challenge = pkce_pair()
    with httpx.Client(timeout=10) as browser:  # its cookie goes to both (one host name)
        login_url, _ = start_login(browser, a.url, emulator.platform_url,
                                   challenge=challenge, state="s1")
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, b.url)  # polled on B
    code = httpx.URL(redirect_to).params["code"]
    authorized = Authorized(code, "s1", a.url, verifier, LOOPBACK_REDIRECT, "mcp-public-client")

    answer = exchange(a.url, authorized)  # exchanged on A
    assert answer.status_code == 200, answer.text
    assert exchange(b.url, authorized).json()["error"] == "invalid_grant"  # single use, on B too
    # That replay revoked what the code issued, everywhere: sign in again for the rest. (The
    # login page's posts carry the issuer's Origin, A's URL here, so logins start on A.)
    with httpx.Client(timeout=10) as browser:
        verifier, challenge = pkce_pair()
        login_url, _ = start_login(browser, a.url, emulator.platform_url,
                                   challenge=challenge, state="s2")
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, b.url)
    authorized = Authorized(httpx.URL(redirect_to).params["code"], "s2", a.url, verifier,
                            LOOPBACK_REDIRECT, "mcp-public-client")
    tokens = exchange(a.url, authorized).json()

    rotated = refresh(b.url, tokens["refresh_token"])  # refreshed on B
    assert rotated.status_code == 200, rotated.text
    tokens = rotated.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = userinfo(a, tokens["access_token"]).json()
    api = f"api/3.0.0/{info['ib_client_id']}/resource.limit(1)"
    for bridge in (a, b):  # the proxy on both
        proxied = httpx.get(f"{bridge.url}/proxy/{api}", headers=bearer, timeout=10)
        assert proxied.status_code == 200, proxied.text

    revoked = httpx.post(f"{a.url}/revoke", data={
        "token": tokens["refresh_token"], "client_id": "mcp-public-client"}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    while time.monotonic() - revoked_at < 1.0:  # B's session cache may lag this long
        httpx.get(f"{b.url}/proxy/{api}", headers=bearer, timeout=10)
    after = [httpx.get(f"{b.url}/proxy/{api}", headers=bearer, timeout=10).status_code
             for _ in range(5)]
    assert after == [401] * 5
    assert refresh(b.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_bridge_killed_mid_flow_loses_nothing(
    bridges: tuple[Bridge, Bridge], emulator: Emulator
) -> None:
    """SIGKILL A after the login started on it, before the code exchange: B polls, finishes the
    sign-in, exchanges the code and refreshes; the tokens work on B."""
    a, b = bridges
    verifier, challenge = pkce_pair()
    with httpx.Client(timeout=10) as browser:
        login_url, _ = start_login(browser, a.url, emulator.platform_url,
                                   challenge=challenge, state="k1")
        a.kill()  # no shutdown hook runs
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, b.url)
    authorized = Authorized(httpx.URL(redirect_to).params["code"], "k1", a.url, verifier,
                            LOOPBACK_REDIRECT, "mcp-public-client")
    answer = exchange(b.url, authorized)
    assert answer.status_code == 200, answer.text
    rotated = refresh(b.url, answer.json()["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert userinfo(b, rotated.json()["access_token"]).status_code == 200


def race(calls: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """Each (bridge URL, refresh token, client id) sent at the same instant from its own
    thread."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def one(index: int, url: str, token: str, client_id: str) -> None:
        barrier.wait()
        answers[index] = refresh(url, token, client_id)

    threads = [threading.Thread(target=one, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def test_one_refresh_token_raced_on_both_by_its_client_gets_one_pair(
    bridges: tuple[Bridge, Bridge], emulator: Emulator
) -> None:
    """The same client sending the same refresh token to A and B at once (a retry racing the
    original, within IB_BRIDGE_REFRESH_GRACE_SECONDS): one rotation, and both answers carry its
    pair; the grant lives on."""
    a, b = bridges
    tokens = exchange(a.url, authorize(a.url, emulator.platform_url)).json()
    answers = race([(a.url, tokens["refresh_token"], "mcp-public-client"),
                    (b.url, tokens["refresh_token"], "mcp-public-client")])
    assert [answer.status_code for answer in answers] == [200, 200], [x.text for x in answers]
    pairs = {(x.json()["access_token"], x.json()["refresh_token"]) for x in answers}
    assert len(pairs) == 1
    access_token, refresh_token = pairs.pop()
    assert userinfo(b, access_token).status_code == 200
    assert refresh(a.url, refresh_token).status_code == 200


def test_one_refresh_token_raced_on_both_by_two_clients_revokes_the_grant(
    bridges: tuple[Bridge, Bridge], emulator: Emulator
) -> None:
    """Another client presenting the token (a thief) at the same instant as its client: at most
    one success, and the grant is revoked, so whatever was issued stops working (RFC 9700
    4.14.2)."""
    a, b = bridges
    tokens = exchange(a.url, authorize(a.url, emulator.platform_url)).json()
    answers = race([(a.url, tokens["refresh_token"], "mcp-public-client"),
                    (b.url, tokens["refresh_token"], "other-public")])
    successes = [answer for answer in answers if answer.status_code == 200]
    assert len(successes) <= 1, [x.text for x in answers]
    assert all(x.json()["error"] == "invalid_grant" for x in answers if x.status_code != 200)
    issued = [tokens["access_token"], *(x.json()["access_token"] for x in successes)]
    for bridge in (a, b):
        for access_token in issued:
            assert refused_within_a_second(bridge, access_token)
        for success in successes:
            assert refresh(bridge.url, success.json()["refresh_token"]).status_code == 400


def refused_within_a_second(bridge: Bridge, access_token: str) -> bool:
    """Whether the bridge refuses the token within a second (its session cache reads the
    store's revocation count every half second)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if userinfo(bridge, access_token).status_code == 401:
            return True
    return userinfo(bridge, access_token).status_code == 401
