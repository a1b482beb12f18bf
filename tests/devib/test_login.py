"""The browser login (IB-API.md section 1) against the running ib."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .conftest import RunningEmulator, SignIn


def _token(client: httpx.Client, ib: RunningEmulator) -> str:
    answer = client.post(f"{ib.platform}/v1/auth/app/token")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"SID", "content"}
    token: str = body["content"]
    assert len(token) >= 32
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    return token


def _info(client: httpx.Client, ib: RunningEmulator, token: str) -> httpx.Response:
    return client.get(f"{ib.platform}/v1/auth/app/info", params={"token": token})


def test_whole_login(ib: RunningEmulator, client: httpx.Client) -> None:
    token = _token(client, ib)
    assert _info(client, ib, token).status_code == 404

    page = client.get(f"{ib.platform}/auth/", params={"login": "0", "token": token})
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "<title>Sign in to IntelligenceBank</title>" in page.text
    assert '<label for="username">Username</label>' in page.text
    assert 'id="username"' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert 'type="password" id="password"' in page.text
    assert f'name="token" value="{token}"' in page.text
    assert 'action="/auth/login"' in page.text
    assert ">Sign in</button>" in page.text
    assert 'name="action" value="cancel"' in page.text

    before = int(time.time())
    done = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "demo", "action": "login"},
    )
    assert done.status_code == 200
    assert "You are signed in. You can close this window." in done.text
    assert "window.close()" in done.text

    info = _info(client, ib, token)
    assert info.status_code == 200
    body = info.json()
    assert set(body) == {"SID", "content"}
    assert set(body["content"]) == {"session", "info"}
    session, details = body["content"]["session"], body["content"]["info"]
    assert set(session) == {"sid", "userUuid", "loginTime"}
    assert len(session["sid"]) >= 40
    assert session["userUuid"] == "u-demo"
    assert isinstance(session["loginTime"], int)
    assert before <= session["loginTime"] <= int(time.time())
    assert details == {
        "clientid": "BnK4JV",
        "apiV3url": ib.api,
        "firstname": "Ada",
        "lastname": "Lovelace",
        "useruuid": "u-demo",
        "email": "ada@example.com",
        "clientname": "Demo Co",
        "logintimeoutperiod": 24,
    }
    # The token is spent: its login page no longer opens.
    again = client.get(f"{ib.platform}/auth/", params={"login": "0", "token": token})
    assert again.status_code == 400


def test_second_user_has_adminemail(sign_in: SignIn) -> None:
    info = sign_in("grace", "grace")["content"]
    assert info["info"]["adminemail"] == "grace@example.com"
    assert "email" not in info["info"]
    assert info["info"]["firstname"] == "Grace"


def test_wrong_password_shows_form_again(ib: RunningEmulator, client: httpx.Client) -> None:
    token = _token(client, ib)
    wrong = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "nope"},
    )
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.text
    assert '<label for="username">Username</label>' in wrong.text
    assert _info(client, ib, token).status_code == 404
    # The token survives a typo: the right password still works.
    right = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "demo"},
    )
    assert right.status_code == 200
    assert _info(client, ib, token).status_code == 200


def test_unknown_user_is_refused(ib: RunningEmulator, client: httpx.Client) -> None:
    token = _token(client, ib)
    answer = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "linus.torvalds", "password": ""},
    )
    assert answer.status_code == 401


def test_cancel_discards_token(ib: RunningEmulator, client: httpx.Client) -> None:
    token = _token(client, ib)
    answer = client.post(f"{ib.platform}/auth/login", data={"token": token, "action": "cancel"})
    assert answer.status_code == 200
    assert "Sign-in cancelled. You can close this window." in answer.text
    assert _info(client, ib, token).status_code == 404
    page = client.get(f"{ib.platform}/auth/", params={"login": "0", "token": token})
    assert page.status_code == 400
    late = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "demo"},
    )
    assert late.status_code == 400
    assert _info(client, ib, token).status_code == 404


def test_unknown_and_expired_token(ib: RunningEmulator, client: httpx.Client) -> None:
    unknown = client.get(f"{ib.platform}/auth/", params={"login": "0", "token": "nope"})
    assert unknown.status_code == 400
    assert "expired" in unknown.text
    assert unknown.headers["x-frame-options"] == "DENY"

    client.post(f"{ib.platform}/_emulator/config", json={"login_token_ttl": 0.2})
    token = _token(client, ib)
    time.sleep(0.3)
    page = client.get(f"{ib.platform}/auth/", params={"login": "0", "token": token})
    assert page.status_code == 400
    assert "expired" in page.text
    late = client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "demo"},
    )
    assert late.status_code == 400
    assert _info(client, ib, token).status_code == 404


def test_info_of_done_token_expires_with_token(ib: RunningEmulator, client: httpx.Client) -> None:
    client.post(f"{ib.platform}/_emulator/config", json={"login_token_ttl": 0.5})
    token = _token(client, ib)
    client.post(
        f"{ib.platform}/auth/login",
        data={"token": token, "username": "demo", "password": "demo"},
    ).raise_for_status()
    assert _info(client, ib, token).status_code == 200
    time.sleep(0.6)
    assert _info(client, ib, token).status_code == 404


def test_malformed_forms_are_400(ib: RunningEmulator, client: httpx.Client) -> None:
    url = f"{ib.platform}/auth/login"
    token = _token(client, ib)
    assert client.post(url, data={"username": "demo", "password": "demo"}).status_code == 400
    assert client.post(url, data={"token": token, "username": "demo"}).status_code == 400
    assert client.post(url, data={"token": token, "action": "explode"}).status_code == 400
    broken = client.post(
        url,
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code == 400
    assert "text/html" in broken.headers["content-type"]
    upload = client.post(url, files={"token": ("t.txt", token.encode())})
    assert upload.status_code == 400


def test_hosts_are_separate(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    port = ib.config.port
    platform, api = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    v3_path = "/api/3.0.0/BnK4JV/resource.limit(1)"
    assert client.get(api + v3_path, headers={"sid": sid}).status_code == 200
    on_platform = client.get(platform + v3_path, headers={"sid": sid})
    assert on_platform.status_code == 404
    assert on_platform.json()["error"] == "not_found"
    assert client.post(f"{platform}/v1/auth/app/token").status_code == 200
    assert client.post(f"{api}/v1/auth/app/token").status_code == 404
    assert client.get(f"{api}/auth/", params={"login": "0", "token": "x"}).status_code == 404
    assert client.get(f"{api}/_emulator/requests").status_code == 200
    assert client.get(f"{platform}/_emulator/requests").status_code == 200
