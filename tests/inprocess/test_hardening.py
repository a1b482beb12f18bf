"""Small defences, each against one input an attacker controls: a control character in a static
file's name, a Host header of their choosing, request objects and response modes the bridge
does not do, an IB answer that echoes the sid in a header; and what an https deployment adds
(the `__Host-` login cookie, HSTS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_dns import API, PLATFORM, PUBLIC, FakeDNS, emulator_at

from docserver import DocumentServer, Route
from ib_oauth_bridge.devib import EmulatorConfig
from inprocess_flow import LOOPBACK_REDIRECT, authorize_path, pkce_pair, tokens
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

PRODUCTION = {"issuer": "https://bridge.example", "dev_mode": False, "dev_ib_urls": ()}


@pytest.fixture
async def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    """The bridge outside dev mode, issuer https; IB's login API in-process, its names public."""
    dns = FakeDNS(monkeypatch)
    dns.answers[PLATFORM] = dns.answers[API] = [PUBLIC]
    async with open_stack(tmp_path, emulator_at(), **PRODUCTION) as opened:
        yield opened


def authorize_url(**extra: str) -> str:
    _, challenge = pkce_pair()
    return authorize_path(challenge=challenge, state="st", **extra)


def redirect_query(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(LOOPBACK_REDIRECT + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


# /static/ -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/static/style.css%00", "/static/%00.css", "/static/login%01.js", "/static/a%0a.css"]
)
async def test_a_control_character_in_a_static_name_is_a_404(stack: Stack, path: str) -> None:
    answer = await stack.http.get(path)
    assert answer.status_code == 404, answer.text
    assert (await stack.http.get("/static/style.css")).status_code == 200


# Host -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "bridge.example.evil.example", "127.0.0.1"])
async def test_a_foreign_host_is_refused(production: Stack, host: str) -> None:
    answer = await production.http.get(authorize_url(), headers={"Host": host})
    assert answer.status_code == 400, answer.text
    assert "set-cookie" not in answer.headers


async def test_the_trailing_slash_redirect_points_at_the_issuer(production: Stack) -> None:
    # Asked over http (a TLS-terminating proxy in front), with a port the issuer lacks.
    path = authorize_url().replace("/authorize?", "/authorize/?")
    answer = await production.http.get(
        f"http://bridge.example:8080{path}", headers={"Host": "bridge.example:8080"}
    )
    assert answer.status_code == 307, answer.text
    assert answer.headers["location"].startswith("https://bridge.example/authorize?")
    refused = await production.http.get(path, headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "location" not in refused.headers


async def test_dev_mode_accepts_the_loopback_names_and_redirects_to_the_issuer(
    stack: Stack,
) -> None:
    path = authorize_url().replace("/authorize?", "/authorize/?")
    for host in ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"]:
        answer = await stack.http.get(path, headers={"Host": host})
        assert answer.status_code == 307, answer.text
        assert answer.headers["location"].startswith("http://127.0.0.1:8000/authorize?")
    assert (await stack.http.get(path, headers={"Host": "evil.example"})).status_code == 400


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_whatever_the_host(production: Stack, path: str) -> None:
    answer = await production.http.get(path, headers={"Host": "10.0.0.7:8000"})
    assert answer.status_code == 200, answer.text


# /authorize: what the bridge does not do --------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, "request_uri_not_supported"),
        ({"response_mode": "form_post"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ],
)
async def test_unsupported_request_forms_are_refused_through_the_redirect(
    stack: Stack, extra: dict[str, str], error: str
) -> None:
    query = redirect_query(await stack.http.get(authorize_url(**extra)))
    assert query["error"] == error
    assert query["state"] == "st"
    assert query["iss"] == stack.settings.issuer


async def test_response_mode_query_is_accepted(stack: Stack) -> None:
    answer = await stack.http.get(authorize_url(response_mode="query"))
    assert answer.status_code == 200, answer.text


async def test_a_request_object_with_a_bad_redirect_uri_is_not_redirected(stack: Stack) -> None:
    answer = await stack.http.get(
        authorize_url(request="x", redirect_uri="https://evil.example/cb")
    )
    assert answer.status_code == 400
    assert "location" not in answer.headers


# The proxy: an IB header carrying the sid -----------------------------------------------------


@pytest.fixture
def ib_api() -> Iterator[DocumentServer]:
    with DocumentServer(host="localhost") as server:
        yield server


async def test_an_ib_header_carrying_the_sid_is_dropped(
    tmp_path: Path, ib_api: DocumentServer
) -> None:
    path = "/api/3.0.0/BnK4JV/echo"
    ib_api.routes[path] = Route(
        b"{}", headers={"X-Kept": "yes"}, echo={"X-Debug-Session": "sid", "Location": "sid"}
    )
    # The emulator signs the user in (in-process); its API host is the document server.
    async with open_stack(tmp_path, EmulatorConfig(port=ib_api.port)) as stack:
        access = (await tokens(stack, scope="ib.read"))["access_token"]
        answer = await stack.http.get(
            f"/proxy{path}", headers={"Authorization": f"Bearer {access}"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-kept"] == "yes"
    assert "x-debug-session" not in answer.headers
    assert "location" not in answer.headers


# https: the __Host- cookie and HSTS -------------------------------------------------------------


async def test_over_https_the_login_cookie_is_a_host_cookie(production: Stack) -> None:
    answer = await production.http.get(authorize_url())
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-ib_bridge_login=")
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "secure" in cookie.lower()
    assert "domain" not in cookie.lower()
    # ... and the whole sign-in works with it.
    assert (await tokens(production))["access_token"]


async def test_over_http_in_dev_mode_the_cookie_keeps_its_name_and_path(stack: Stack) -> None:
    cookie = (await stack.http.get(authorize_url())).headers["set-cookie"]
    assert cookie.startswith("ib_bridge_login=")
    assert "Path=/authorize" in cookie


@pytest.mark.parametrize("path", ["/healthz", "/.well-known/oauth-authorization-server", "/nope"])
async def test_https_answers_carry_hsts(production: Stack, path: str) -> None:
    answer = await production.http.get(path)
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


async def test_a_refused_host_and_a_redirect_carry_hsts_too(production: Stack) -> None:
    refused = await production.http.get("/authorize", headers={"Host": "evil.example"})
    assert refused.headers["strict-transport-security"] == "max-age=31536000"
    redirect = await production.http.get(authorize_url(response_mode="form_post"))
    assert redirect.status_code == 302
    assert redirect.headers["strict-transport-security"] == "max-age=31536000"


async def test_dev_mode_sends_no_hsts(stack: Stack) -> None:
    assert "strict-transport-security" not in (await stack.http.get("/healthz")).headers
