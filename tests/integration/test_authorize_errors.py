"""Bad authorization requests and bad login-page input: each gets a clear answer, never a 500,
and an untrusted redirect URI never gets a redirect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from flow import LOOPBACK_REDIRECT, authorize_url, form_value, pkce_pair, start_login
from servers import Bridge, Emulator

CHALLENGE = pkce_pair()[1]


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(LOOPBACK_REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "no-such-client"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": "http://192.168.1.5:8080/cb"},
        {"redirect_uri": "http://localhost.evil.com/cb"},
        {"redirect_uri": "http://127.0.0.1:5000/cb#fragment"},
        {"redirect_uri": ""},
    ],
)
def test_unknown_client_or_redirect_uri_gets_a_page_not_a_redirect(
    bridge: Bridge, params: dict[str, str]
) -> None:
    url = authorize_url(bridge.url, challenge=CHALLENGE, state="s1", **params)
    response = httpx.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "not valid" in response.text


def test_registered_client_needs_its_exact_redirect_uri(bridge: Bridge) -> None:
    for uri, expected in [("https://app.example/callback", 200),
                          ("https://app.example/callback/", 400),
                          ("https://app.example/callback?x=1", 400)]:
        url = authorize_url(bridge.url, client_id="web-app", redirect_uri=uri,
                            challenge=CHALLENGE, state="s")
        assert httpx.get(url).status_code == expected, uri


@pytest.mark.parametrize("redirect_uri", [
    "http://localhost:1234/cb", "http://127.0.0.1:65000/", "http://[::1]:8080/callback",
    "https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback",
])
def test_public_client_accepts_loopback_and_claude(bridge: Bridge, redirect_uri: str) -> None:
    url = authorize_url(bridge.url, redirect_uri=redirect_uri, challenge=CHALLENGE, state="s")
    response = httpx.get(url)
    assert response.status_code == 200
    assert "ib_bridge_login" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"resource": "https://elsewhere.example/api"}, "invalid_target"),
    ],
)
def test_other_errors_redirect_with_error_state_and_iss(
    bridge: Bridge, params: dict[str, str], error: str
) -> None:
    url = authorize_url(bridge.url, challenge=CHALLENGE, state="st-42", **params)
    got = redirect_params(httpx.get(url))
    assert got["error"] == error
    assert got["state"] == "st-42"
    assert got["iss"] == bridge.url


def test_repeated_parameter_is_refused_on_a_page(bridge: Bridge) -> None:
    # RFC 6749 3.1: parameters must not repeat; which value would be trusted is unclear, so the
    # bridge does not redirect at all.
    url = authorize_url(bridge.url, challenge=CHALLENGE, state="s") + "&scope=ib.read&scope=x"
    response = httpx.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Multiple" in response.text


def test_oversized_query_gets_a_page(bridge: Bridge) -> None:
    url = authorize_url(bridge.url, challenge=CHALLENGE, state="x" * 10_000)
    response = httpx.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers


def login_page(client: httpx.Client, bridge: Bridge) -> str:
    page = client.get(authorize_url(bridge.url, challenge=CHALLENGE, state="s"))
    assert page.status_code == 200
    return form_value(page.text, "csrf_token")


@pytest.mark.parametrize(
    ("platform_url", "fragment"),
    [
        ("http://acme.intelligencebank.com", "https://"),
        ("https://93.184.216.34", "IP address"),
        ("https://[2001:db8::1]", "IP address"),
        ("https://acme.example.com", "not an IntelligenceBank address"),
        ("https://intelligencebank.com.evil.io", "not an IntelligenceBank address"),
        ("https://user:pw@acme.intelligencebank.com", "user name"),
        ("", "Enter your IntelligenceBank address"),
        ("https://" + "a" * 3000 + ".intelligencebank.com", "web address"),
        ("javascript:alert(1)", "web address"),
    ],
)
def test_bad_platform_url_gets_a_message_and_no_request(
    bridge: Bridge, platform_url: str, fragment: str
) -> None:
    with httpx.Client() as browser:
        csrf = login_page(browser, bridge)
        answer = browser.post(f"{bridge.url}/authorize/platform",
                              data={"platform_url": platform_url, "csrf_token": csrf},
                              headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_platform"
    assert fragment in answer.json()["error_description"]


def test_platform_resolving_to_loopback_is_refused(tmp_path, emulator: Emulator) -> None:
    from servers import Bridge as BridgeServer
    from servers import bridge_env, free_port

    port = free_port()
    env = bridge_env(port, emulator, tmp_path, IB_BRIDGE_PLATFORM_HOSTS="localhost,*.localhost")
    server = BridgeServer(port, tmp_path, env)
    server.start()
    try:
        with httpx.Client() as browser:
            csrf = login_page(browser, server)
            answer = browser.post(f"{server.url}/authorize/platform",
                                  data={"platform_url": "https://localhost", "csrf_token": csrf},
                                  headers={"Accept": "application/json"})
        assert answer.status_code == 400
        assert "internal address" in answer.json()["error_description"]
    finally:
        server.stop()


def test_no_js_form_renders_the_page_with_the_message(bridge: Bridge) -> None:
    with httpx.Client() as browser:
        csrf = login_page(browser, bridge)
        answer = browser.post(f"{bridge.url}/authorize/platform",
                              data={"platform_url": "https://acme.example.com",
                                    "csrf_token": csrf})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "not an IntelligenceBank address" in answer.text


def test_login_posts_need_the_cookie_and_csrf_token(bridge: Bridge, emulator: Emulator) -> None:
    data = {"platform_url": emulator.platform_url}
    no_cookie = httpx.post(f"{bridge.url}/authorize/platform", data={**data, "csrf_token": "x"})
    assert no_cookie.status_code == 403
    with httpx.Client() as browser:
        csrf = login_page(browser, bridge)
        wrong = browser.post(f"{bridge.url}/authorize/platform",
                             data={**data, "csrf_token": csrf[:-2] + "00"})
        assert wrong.status_code == 403
        cross_site = browser.post(f"{bridge.url}/authorize/platform",
                                  data={**data, "csrf_token": csrf},
                                  headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403
    assert httpx.get(f"{bridge.url}/authorize/status").status_code == 403


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"platform_url=x", "application/json", 415),
        (b"platform_url=x", "text/plain", 415),
        (b"platform_url=%FF%FE", "application/x-www-form-urlencoded", 400),
        (b"\xff\xfe=1", "application/x-www-form-urlencoded", 400),
        (b"a=" + b"x" * 70_000, "application/x-www-form-urlencoded", 413),
        (b"&".join(b"f%d=1" % i for i in range(100)), "application/x-www-form-urlencoded", 400),
    ],
)
def test_malformed_login_forms(bridge: Bridge, content: bytes, content_type: str,
                               status: int) -> None:
    with httpx.Client() as browser:
        login_page(browser, bridge)
        answer = browser.post(f"{bridge.url}/authorize/platform", content=content,
                              headers={"Content-Type": content_type,
                                       "Accept": "application/json"})
    assert answer.status_code == status
    assert answer.json()["error"] == "invalid_request"


def test_form_posts_without_javascript_get_pages(bridge: Bridge, emulator: Emulator) -> None:
    # A plain form post (the page without JavaScript) is answered with a page, not JSON.
    answer = httpx.post(f"{bridge.url}/authorize/cancel", data={"csrf_token": "x"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "no sign-in in progress" in answer.text


def test_opaque_origin_is_trusted_only_when_the_browser_says_same_origin(
    bridge: Bridge, emulator: Emulator
) -> None:
    with httpx.Client() as browser:
        csrf = login_page(browser, bridge)
        data = {"platform_url": emulator.platform_url, "csrf_token": csrf}
        accept = {"Accept": "application/json", "Origin": "null"}
        foreign = browser.post(f"{bridge.url}/authorize/platform", data=data, headers=accept)
        assert foreign.status_code == 403
        same = browser.post(f"{bridge.url}/authorize/platform", data=data,
                            headers={**accept, "Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 200


def test_cancel_redirects_with_access_denied(bridge: Bridge, emulator: Emulator) -> None:
    with httpx.Client() as browser:
        _, csrf = start_login(browser, bridge.url, emulator.platform_url,
                              challenge=CHALLENGE, state="cancel-me")
        answer = browser.post(f"{bridge.url}/authorize/cancel", data={"csrf_token": csrf})
        assert answer.status_code == 303
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == ["access_denied"]
        assert query["state"] == ["cancel-me"]
        assert query["iss"] == [bridge.url]
        # The transaction is gone: polling it now says so.
        assert browser.get(f"{bridge.url}/authorize/status").status_code in {403, 410}


def test_ib_down_is_a_clear_502(bridge: Bridge, emulator: Emulator) -> None:
    emulator.control("fail", {"status": 503, "times": 1, "path_contains": "/v1/auth/app/token"})
    with httpx.Client() as browser:
        csrf = login_page(browser, bridge)
        answer = browser.post(f"{bridge.url}/authorize/platform",
                              data={"platform_url": emulator.platform_url, "csrf_token": csrf},
                              headers={"Accept": "application/json"})
    assert answer.status_code == 502
    assert "IntelligenceBank" in answer.json()["error_description"]


def test_pending_status_until_the_user_signs_in(bridge: Bridge, emulator: Emulator) -> None:
    with httpx.Client() as browser:
        start_login(browser, bridge.url, emulator.platform_url, challenge=CHALLENGE, state="s")
        status = browser.get(f"{bridge.url}/authorize/status").json()
    assert status["status"] == "pending"
    assert "sign in" in status["message"]
