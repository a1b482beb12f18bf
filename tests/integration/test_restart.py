"""A crash between sign-in and code exchange loses nothing: the store is a real SQLite file."""

from __future__ import annotations

import httpx
import pytest

from flow import authorize, exchange, pkce_pair, sign_in_at_ib, start_login, wait_for_redirect
from servers import Bridge, Emulator, bridge_env, free_port


@pytest.fixture
def own_bridge(emulator: Emulator, tmp_path) -> Bridge:
    port = free_port()
    return Bridge(port, tmp_path, bridge_env(port, emulator, tmp_path))


def test_sigkill_between_login_and_token_exchange(own_bridge: Bridge, emulator: Emulator) -> None:
    own_bridge.start()
    try:
        authorized = authorize(own_bridge.url, emulator.platform_url)
        own_bridge.kill()
        own_bridge.start()
        response = exchange(own_bridge.url, authorized)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        info = httpx.get(f"{own_bridge.url}/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.status_code == 200
    finally:
        own_bridge.stop()


def test_sigkill_while_the_user_signs_in_at_ib(own_bridge: Bridge, emulator: Emulator) -> None:
    """The login transaction survives too: the page's polling picks up where it was."""
    own_bridge.start()
    try:
        _, challenge = pkce_pair()
        with httpx.Client(timeout=10) as browser:
            login_url, _ = start_login(browser, own_bridge.url, emulator.platform_url,
                                       challenge=challenge, state="after-crash")
            own_bridge.kill()
            sign_in_at_ib(login_url)
            own_bridge.start()
            redirect_to = wait_for_redirect(browser, own_bridge.url)
        assert "state=after-crash" in redirect_to
        assert "code=" in redirect_to
    finally:
        own_bridge.stop()


def test_secrets_never_reach_the_log(own_bridge: Bridge, emulator: Emulator) -> None:
    own_bridge.start()
    try:
        authorized = authorize(own_bridge.url, emulator.platform_url)
        tokens = exchange(own_bridge.url, authorized).json()
    finally:
        own_bridge.stop()
    log = own_bridge.logs()
    assert "login completed" in log  # the log is there and structured
    for secret in (authorized.code, authorized.verifier, tokens["access_token"],
                   tokens["refresh_token"], own_bridge.env["IB_BRIDGE_ENCRYPTION_KEY"]):
        assert secret not in log


def test_store_holds_no_plaintext_secrets(own_bridge: Bridge, emulator: Emulator) -> None:
    own_bridge.start()
    try:
        authorized = authorize(own_bridge.url, emulator.platform_url)
        tokens = exchange(own_bridge.url, authorized).json()
        _, challenge = pkce_pair()
        with httpx.Client(timeout=10) as browser:  # a second login, left pending at IB
            login_url, _ = start_login(browser, own_bridge.url, emulator.platform_url,
                                       challenge=challenge, state="pending")
            cookie = browser.cookies["ib_bridge_login"]
    finally:
        own_bridge.stop()
    login_token = login_url.split("token=")[1]
    stored = b"".join(path.read_bytes() for path in own_bridge.data_dir.glob("bridge.db*"))
    assert stored, "the store file is where the test expects it"
    for secret in (authorized.code, tokens["refresh_token"], login_token, cookie):
        assert secret.encode() not in stored


def test_a_new_encryption_key_ends_old_sessions_with_401_not_500(
    own_bridge: Bridge, emulator: Emulator
) -> None:
    """After IB_BRIDGE_ENCRYPTION_KEY changes (and no setting holds the old key), no sid sealed
    with the old key can be opened: the sign-in is over, said as RFC 6750 says it, and the grant
    is ended rather than failing on every call."""
    import base64
    import secrets

    own_bridge.start()
    try:
        tokens = exchange(own_bridge.url, authorize(own_bridge.url, emulator.platform_url)).json()
    finally:
        own_bridge.stop()
    own_bridge.env["IB_BRIDGE_ENCRYPTION_KEY"] = (
        base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    own_bridge.start()
    try:
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        for url in (f"{own_bridge.url}/userinfo", f"{own_bridge.url}/proxy/api/3.0.0/x/resource"):
            answer = httpx.get(url, headers=bearer)
            assert answer.status_code == 401, answer.text
            assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        refreshed = httpx.post(f"{own_bridge.url}/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": "mcp-public-client"})
        assert refreshed.json().get("error") == "invalid_grant"  # the grant was ended
    finally:
        own_bridge.stop()
    assert "Traceback" not in own_bridge.logs()
