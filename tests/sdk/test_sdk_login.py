"""Discovery and the whole sign-in of `login()` against the real bridge and emulator."""

from __future__ import annotations

import os
import stat
import sys
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from ib_oauth_bridge_client.helpers import (
    IB,
    BridgeError,
    FileTokenStore,
    IssuerMismatch,
    LoginTimeout,
    NetworkError,
    OAuthError,
    StateMismatch,
    Tokens,
    discover,
    login,
)

from servers import Bridge, Emulator, free_port


class Browser(Protocol):
    urls: list[str]
    callback: httpx.Response | None

    def __call__(self, url: str) -> bool: ...


def authorization_params(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_discover_reads_the_bridge_metadata(bridge: Bridge) -> None:
    metadata = discover(bridge.url)
    assert metadata.issuer == bridge.url
    assert metadata.token_endpoint == f"{bridge.url}/token"
    assert metadata.authorization_endpoint == f"{bridge.url}/authorize"
    assert metadata.userinfo_endpoint == f"{bridge.url}/userinfo"
    assert metadata.jwks_uri == f"{bridge.url}/jwks.json"
    assert metadata.revocation_endpoint == f"{bridge.url}/revoke"
    assert "S256" in metadata.code_challenge_methods_supported
    assert set(metadata.scopes_supported) >= {"ib.read", "ib.write"}
    assert metadata.authorization_response_iss_parameter_supported
    assert metadata.proxy_url == f"{bridge.url}/proxy"
    # A trailing slash on the base URL is the same issuer.
    assert discover(bridge.url + "/").issuer == bridge.url


def test_discover_refuses_another_issuer(bridge: Bridge) -> None:
    # Same server, other name: the metadata names 127.0.0.1, so "localhost" is not its issuer.
    with pytest.raises(IssuerMismatch, match="issuer"):
        discover(f"http://localhost:{bridge.port}")


def test_discover_errors_are_typed(emulator: Emulator) -> None:
    with pytest.raises(NetworkError):
        discover(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(OAuthError) as caught:  # a server that is not a bridge: 404
        discover(emulator.platform_url)
    assert caught.value.status_code == 404
    with pytest.raises(ValueError):
        discover("ftp://example.com")


def test_login_end_to_end(bridge: Bridge, browser: Browser, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    started = time.time()
    holder = login(bridge.url, open_browser=browser, timeout=30, store=store)

    params = authorization_params(browser.urls[0])
    assert params["client_id"] == "mcp-public-client"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "ib.read ib.write profile email"
    assert params["redirect_uri"].startswith("http://127.0.0.1:")
    assert params["redirect_uri"].endswith("/callback")
    assert browser.callback is not None
    assert browser.callback.status_code == 200
    assert "You can close this window" in browser.callback.text

    tokens = holder.tokens
    assert tokens.refresh_token
    assert tokens.token_type == "Bearer"
    assert tokens.expires_at > started + 60
    assert store.load() == tokens
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    with IB(bridge.url, holder) as ib:
        user = ib.user()
    assert user["ib_client_id"]
    assert user["ib_api_url"]
    assert user["email"]
    assert user["name"]


def test_login_passes_resource_and_platform(bridge: Bridge, browser: Browser,
                                            emulator: Emulator) -> None:
    login(bridge.url, open_browser=browser, timeout=30, resource=f"{bridge.url}/proxy",
          platform_url=emulator.platform_url)
    params = authorization_params(browser.urls[0])
    assert params["resource"] == f"{bridge.url}/proxy"
    assert params["platform_url"] == emulator.platform_url


def test_login_times_out(bridge: Bridge) -> None:
    started = time.monotonic()
    with pytest.raises(LoginTimeout):
        login(bridge.url, open_browser=lambda url: True, timeout=0.3)
    assert time.monotonic() - started < 10


def forge(**overrides: str | None) -> Callable[[str], bool]:
    """An open_browser that calls the listener directly with a forged authorization response
    (state taken from the request unless overridden; None leaves a parameter out)."""

    def open_browser(url: str) -> bool:
        request = authorization_params(url)
        given = {"code": "forged-code", "state": request["state"], **overrides}
        params = {key: value for key, value in given.items() if value is not None}
        httpx.get(f"{request['redirect_uri']}?{urlencode(params)}", timeout=5)
        return True

    return open_browser


def test_login_refuses_a_forged_state(bridge: Bridge) -> None:
    with pytest.raises(StateMismatch):
        login(bridge.url, open_browser=forge(state="not-mine", iss=bridge.url), timeout=10)


@pytest.mark.parametrize("iss", ["https://evil.example", None])
def test_login_refuses_a_wrong_or_missing_iss(bridge: Bridge, iss: str | None) -> None:
    with pytest.raises(IssuerMismatch):
        login(bridge.url, open_browser=forge(iss=iss), timeout=10)


def test_login_reports_an_error_callback(bridge: Bridge, cancelling_browser: Browser) -> None:
    browser = cancelling_browser
    with pytest.raises(OAuthError) as caught:
        login(bridge.url, open_browser=browser, timeout=30)
    assert caught.value.error == "access_denied"
    assert caught.value.status_code is None
    assert browser.callback is not None
    assert "not completed" in browser.callback.text


def test_login_prints_the_url_when_no_browser_opens(bridge: Bridge,
                                                    browser: Browser) -> None:
    printed: list[str] = []

    def print_url(url: str) -> None:
        printed.append(url)
        browser(url)  # the user opens it on another device

    holder = login(bridge.url, open_browser=lambda url: False, print_url=print_url, timeout=30)
    assert len(printed) == 1
    assert printed[0].startswith(f"{bridge.url}/authorize?")
    assert holder.tokens.refresh_token


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="headless detection is per OS")
def test_login_without_a_display_prints_instead_of_opening(
    bridge: Bridge, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: bool(opened.append(url)))
    printed: list[str] = []

    def print_url(url: str) -> None:
        printed.append(url)
        browser(url)

    login(bridge.url, print_url=print_url, timeout=30)
    assert opened == []
    assert len(printed) == 1


def test_default_print_url_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from ib_oauth_bridge_client.helpers.browser import print_url

    print_url("http://127.0.0.1:1/authorize?x=1")
    assert "http://127.0.0.1:1/authorize?x=1" in capsys.readouterr().err


def test_tokens_never_show_in_repr() -> None:
    tokens = Tokens.from_response({"access_token": "AT-secret", "refresh_token": "RT-secret",
                                   "expires_in": 60, "token_type": "Bearer", "scope": "ib.read"},
                                  now=1000.0)
    assert tokens.expires_at == 1060.0
    assert tokens.scope == "ib.read"
    assert "secret" not in repr(tokens)
    assert "secret" not in str(tokens)
    for bad in ({}, {"access_token": "a", "expires_in": "60"},
                {"access_token": "a", "expires_in": 60, "token_type": "mac"},
                {"access_token": 5, "expires_in": 60}):
        with pytest.raises(BridgeError):
            Tokens.from_response(bad)


def test_tokens_without_expires_in_use_the_jwt_exp_or_a_short_default() -> None:
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"exp": 5000}).encode()).rstrip(b"=").decode()
    jwt_like = f"e30.{payload}.sig"
    assert Tokens.from_response({"access_token": jwt_like}, now=1000.0).expires_at == 5000.0
    assert Tokens.from_response({"access_token": "opaque"}, now=1000.0).expires_at == 1300.0
