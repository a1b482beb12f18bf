"""examples/webapp: the app served by uvicorn on a loopback port, registered with a bridge of its
own as a confidential client, and used by a scripted browser."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn

from flow import form_value
from servers import Bridge, Emulator, bridge_env, free_port

SignIn = Callable[[httpx.Client, str], str]
CLIENT_ID, CLIENT_SECRET = "webapp", "webapp-test-secret"


def load_example(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("webapp_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@dataclass
class WebApp:
    url: str
    app: Any  # the Starlette app; app.state.webapp is the example's WebApp (its sessions)

    def held_tokens(self) -> list[Any]:
        """The tokens the app keeps server-side, one per signed-in session (a test's view)."""
        sessions = self.app.state.webapp.sessions.values()
        return [session.holder.tokens for session in sessions if session.holder is not None]


@pytest.fixture(scope="module")
def webapp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def client_bridge(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory, webapp_port: int
) -> Iterator[Bridge]:
    """A bridge with the web app registered, as examples/webapp/README.md registers it."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("webapp-bridge")
    clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"http://127.0.0.1:{webapp_port}/callback"]}]
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir,
                                               IB_BRIDGE_CLIENTS=json.dumps(clients)))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def webapp(examples_dir: Path, client_bridge: Bridge, webapp_port: int) -> Iterator[WebApp]:
    example = load_example(examples_dir / "webapp" / "app.py")
    settings = example.Settings.from_env({
        "WEBAPP_BRIDGE_URL": client_bridge.url,
        "WEBAPP_CLIENT_ID": CLIENT_ID,
        "WEBAPP_CLIENT_SECRET": CLIENT_SECRET,
        "WEBAPP_SESSION_SECRET": "test-session-secret",
    }, default_base_url=f"http://127.0.0.1:{webapp_port}")
    app = example.create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=webapp_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="webapp", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the web app stopped while starting"
        assert time.monotonic() < deadline, "the web app did not start within 10 s"
        time.sleep(0.02)
    yield WebApp(f"http://127.0.0.1:{webapp_port}", app)
    server.should_exit = True
    thread.join(timeout=10)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def proxy_status(bridge: Bridge, access_token: str, ib_client_id: str) -> int:
    """The status of a resource list through the bridge's proxy with `access_token`."""
    response = httpx.get(f"{bridge.url}/proxy/api/3.0.0/{ib_client_id}/resource.limit(0,1)",
                         headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    return response.status_code


def test_sign_in_browse_and_sign_out(
    webapp: WebApp, client_bridge: Bridge, sign_in: SignIn
) -> None:
    with httpx.Client(timeout=10) as browser:
        home = browser.get(f"{webapp.url}/")
        assert home.status_code == 200
        assert "Sign in with IntelligenceBank" in home.text

        start = browser.get(f"{webapp.url}/login")
        assert start.status_code == 303
        authorize = start.headers["location"]
        assert authorize.startswith(f"{client_bridge.url}/authorize?")
        params = query_of(authorize)
        assert params["client_id"] == CLIENT_ID
        assert params["redirect_uri"] == f"{webapp.url}/callback"
        assert params["code_challenge_method"] == "S256"
        assert params["code_challenge"]
        assert params["state"]

        callback = sign_in(browser, authorize)
        assert callback.startswith(f"{webapp.url}/callback?")
        landed = browser.get(callback)
        assert landed.status_code == 303, landed.text
        assert landed.headers["location"] == "/"
        # The same answer again: a sign-in completes once.
        assert browser.get(callback).status_code == 400

        page = browser.get(f"{webapp.url}/")
        assert page.status_code == 200
        assert "Ada Lovelace" in page.text
        assert "ada@example.com" in page.text
        assert page.text.count("<tr><td>") == 10

        # The tokens stay on the server: the browser's cookie holds a session id, nothing else.
        [tokens] = webapp.held_tokens()
        assert tokens.access_token not in page.text
        assert tokens.refresh_token not in page.text
        cookie = browser.cookies["ib_webapp_session"]
        payload = cookie.split(".")[0]
        session = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
        assert list(session) == ["session_id"]
        userinfo = httpx.get(f"{client_bridge.url}/userinfo", timeout=10,
                             headers={"Authorization": f"Bearer {tokens.access_token}"})
        ib_client_id = userinfo.json()["ib_client_id"]
        assert proxy_status(client_bridge, tokens.access_token, ib_client_id) == 200

        # Sign-out needs the form's CSRF token.
        forged = browser.post(f"{webapp.url}/logout", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert "Ada Lovelace" in browser.get(f"{webapp.url}/").text

        csrf = form_value(page.text, "csrf_token")
        out = browser.post(f"{webapp.url}/logout", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert "Sign in with IntelligenceBank" in browser.get(f"{webapp.url}/").text

    # The grant is revoked at the bridge: the access token the app held is refused at once and
    # its refresh token no longer works.
    assert webapp.held_tokens() == []
    assert proxy_status(client_bridge, tokens.access_token, ib_client_id) == 401
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    refresh = httpx.post(f"{client_bridge.url}/token", data=form,
                         auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_the_callback_refuses_what_it_did_not_ask_for(
    webapp: WebApp, client_bridge: Bridge
) -> None:
    with httpx.Client(timeout=10) as browser:
        # No sign-in started in this browser.
        stray = browser.get(f"{webapp.url}/callback?code=abc&state=xyz&iss={client_bridge.url}")
        assert stray.status_code == 400

        def callback(state: str, **params: str) -> httpx.Response:
            return browser.get(f"{webapp.url}/callback?{urlencode({'state': state, **params})}")

        state = query_of(browser.get(f"{webapp.url}/login").headers["location"])["state"]
        assert callback("not-" + state, code="abc", iss=client_bridge.url).status_code == 400

        state = query_of(browser.get(f"{webapp.url}/login").headers["location"])["state"]
        mixed_up = callback(state, code="abc", iss="https://evil.example")
        assert mixed_up.status_code == 400
        assert "unexpected server" in mixed_up.text

        state = query_of(browser.get(f"{webapp.url}/login").headers["location"])["state"]
        declined = callback(state, error="access_denied", iss=client_bridge.url)
        assert declined.status_code == 200
        assert "You cancelled the sign-in." in declined.text

        state = query_of(browser.get(f"{webapp.url}/login").headers["location"])["state"]
        bad_code = callback(state, code="not-a-code", iss=client_bridge.url)
        assert bad_code.status_code == 502
        assert re.search(r"refused the sign-in: invalid_grant", bad_code.text)
    assert webapp.held_tokens() == []
