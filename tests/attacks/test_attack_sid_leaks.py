"""The sid never leaves the bridge: one full run over real processes (the IB emulator and the
bridge, started as an operator would, logging JSON at DEBUG level) through every endpoint a
client or a browser touches: discovery, registration, the authorization request and the login
page's endpoints, the token endpoint (code, refresh), userinfo, introspection, the proxy (reads,
writes, a HEAD, IB's own errors, a refused host, an IB failure, an expired IB session), and
revocation. The IB sid of the signed-in user is read from the emulator (its login answer, as
the bridge got it) and searched for in every response's status line, headers and body, and in
every line the bridge logged; so are the access and refresh tokens, the authorization code and
the registered client's secret in the log.

Each step of the run is a row of the table: the step's responses must not contain the sid. The
positive control: the sid really was in use (IB saw a `sid` header on the proxied calls)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from flow import (
    LOOPBACK_REDIRECT,
    authorize,
    exchange,
    form_value,
    pkce_pair,
    sign_in_at_ib,
    wait_for_redirect,
)
from servers import MCP_SERVER_CLIENT, Bridge, Emulator, bridge_env, free_port, start_emulator


@dataclass
class Run:
    bridge: Bridge
    emulator: Emulator
    sid: str = ""
    secrets: dict[str, str] = field(default_factory=dict)  # name -> value, for the log scan
    steps: dict[str, list[httpx.Response]] = field(default_factory=dict)
    ib_saw_sid: bool = False


STEPS = [
    "discovery",
    "register",
    "authorize-page",
    "submit-platform",
    "status-pending",
    "status-done",
    "continue-after-done",
    "cancel-other-sign-in",
    "token-code",
    "token-code-replay",
    "token-refresh",
    "token-bad-requests",
    "userinfo",
    "introspect",
    "proxy-reads",
    "proxy-write",
    "proxy-head",
    "proxy-ib-404",
    "proxy-forbidden-host",
    "proxy-ib-failure",
    "proxy-without-token",
    "revoke",
    "proxy-after-revoke",
    "proxy-expired-ib-session",
]


def _api(rest: str) -> str:
    return f"/proxy/api/3.0.0/BnK4JV/{rest}"


def full_run(run: Run) -> None:
    base = run.bridge.url
    emulator = run.emulator
    current: list[httpx.Response] = []

    def record(response: httpx.Response) -> None:
        response.read()
        current.append(response)

    def step(name: str) -> None:
        nonlocal current
        current = []
        run.steps[name] = current

    hooks = {"response": [record]}
    with httpx.Client(base_url=base, timeout=20, event_hooks=hooks) as api, httpx.Client(
        base_url=base, timeout=20, event_hooks=hooks
    ) as browser:
        step("discovery")
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/proxy",
            "/jwks.json",
            "/healthz",
            "/readyz",
            "/metrics",
            "/",
        ):
            api.get(path)

        step("register")
        registered = api.post(
            "/register",
            json={
                "redirect_uris": [LOOPBACK_REDIRECT],
                "client_name": "Leak scan",
                "token_endpoint_auth_method": "client_secret_post",
            },
        ).json()
        client_id = registered["client_id"]
        run.secrets["client_secret"] = registered["client_secret"]

        step("authorize-page")
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": LOOPBACK_REDIRECT,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "openid profile email ib.read ib.write offline_access",
        }
        page = browser.get("/authorize", params=params)
        csrf = form_value(page.text, "csrf_token")

        step("submit-platform")
        started = browser.post(
            "/authorize/platform",
            data={"platform_url": emulator.platform_url, "csrf_token": csrf},
            headers={"Accept": "application/json", "Origin": base},
        )
        login_url = started.json()["login_url"]

        step("status-pending")
        browser.get("/authorize/status")

        sign_in_at_ib(login_url)
        ib_token = parse_qs(urlsplit(login_url).query)["token"][0]
        info = httpx.get(f"{emulator.platform_url}/v1/auth/app/info", params={"token": ib_token})
        run.sid = info.json()["content"]["session"]["sid"]
        assert len(run.sid) >= 16

        step("status-done")
        redirect_to = wait_for_redirect(browser, base)
        code = parse_qs(urlsplit(redirect_to).query)["code"][0]
        run.secrets["code"] = code

        step("continue-after-done")
        browser.post(
            "/authorize/continue", data={"csrf_token": csrf}, headers={"Origin": base}
        )

        step("cancel-other-sign-in")
        with httpx.Client(base_url=base, timeout=20, event_hooks=hooks) as other:
            other_page = other.get("/authorize", params={**params, "state": "other"})
            other.post(
                "/authorize/cancel",
                data={"csrf_token": form_value(other_page.text, "csrf_token")},
                headers={"Origin": base},
            )

        step("token-code")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": LOOPBACK_REDIRECT,
            "client_id": client_id,
            "client_secret": run.secrets["client_secret"],
            "code_verifier": verifier,
        }
        issued = api.post("/token", data=form).json()
        run.secrets["access_token"] = issued["access_token"]
        run.secrets["refresh_token"] = issued["refresh_token"]

        step("token-code-replay")
        api.post("/token", data=form)  # revokes that grant: sign in again below for the rest

        step("token-refresh")
        fresh = _sign_in_again(run, api)
        refreshed = api.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": fresh["refresh_token"],
                "client_id": "mcp-public-client",
            },
        ).json()
        access = refreshed["access_token"]
        run.secrets["access_token_2"] = access
        run.secrets["refresh_token_2"] = refreshed["refresh_token"]
        bearer = {"Authorization": f"Bearer {access}"}

        step("token-bad-requests")
        api.post("/token", data={"grant_type": "refresh_token", "refresh_token": "nope"})
        api.post("/token", data={"grant_type": "password", "username": "demo"})
        api.post("/token", content=b"\xff\xfe", headers={"Content-Type": "text/plain"})

        step("userinfo")
        api.get("/userinfo", headers=bearer)

        step("introspect")
        api.post("/introspect", data={"token": access}, auth=MCP_SERVER_CLIENT)
        api.post(
            "/introspect",
            data={"token": refreshed["refresh_token"]},
            auth=MCP_SERVER_CLIENT,
        )

        step("proxy-reads")
        reads = [
            _api("resource.limit(0,10).order(lastUpdateTime:-1)"),
            _api("user.limit(5)"),
            _api("filter.limit(5)?searchParams[enableAutoReviews]=true"),
        ]
        for path in reads:
            api.get(path, headers=bearer)

        step("proxy-write")
        api.post(_api("resource"), headers=bearer, json={"data": {"name": "leak scan"}})

        step("proxy-head")
        api.head(_api("resource.limit(1)"), headers=bearer)

        step("proxy-ib-404")
        api.get(_api("no-such-thing/123"), headers=bearer)

        step("proxy-forbidden-host")
        api.get("/proxy/evil.example/api/x", headers=bearer)

        step("proxy-ib-failure")
        emulator.control("fail", {"status": 500, "times": 1, "path_contains": "user.limit"})
        api.get(_api("user.limit(1)"), headers=bearer)

        step("proxy-without-token")
        api.get(_api("resource.limit(1)"))
        api.get(_api("resource.limit(1)"), headers={"Authorization": "Bearer nope"})

        requests = emulator.control("requests").json()["requests"]
        run.ib_saw_sid = any(
            r.get("sid_present") and "/api/3.0.0/" in str(r.get("raw_path")) for r in requests
        )

        step("revoke")
        api.post("/revoke", data={"token": refreshed["refresh_token"],
                                  "client_id": "mcp-public-client"})

        step("proxy-after-revoke")
        api.get(_api("resource.limit(1)"), headers=bearer)

        step("proxy-expired-ib-session")
        last = _sign_in_again(run, api)
        emulator.control("expire-sessions", {"user": "demo"})
        last_bearer = {"Authorization": f"Bearer {last['access_token']}"}
        api.get(_api("resource.limit(1)"), headers=last_bearer)
        api.get("/userinfo", headers=last_bearer)


def _sign_in_again(run: Run, api: httpx.Client) -> dict[str, str]:
    """Another sign-in of the same user, with the well-known client."""
    authorized = authorize(run.bridge.url, run.emulator.platform_url)
    answer = exchange(run.bridge.url, authorized)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, str] = answer.json()
    run.secrets[f"code_{len(run.secrets)}"] = authorized.code
    run.secrets[f"access_{len(run.secrets)}"] = tokens["access_token"]
    run.secrets[f"refresh_{len(run.secrets)}"] = tokens["refresh_token"]
    return tokens


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    emulator = start_emulator()
    data_dir = Path(tmp_path_factory.mktemp("sid_leaks"))
    port = free_port()
    bridge = Bridge(
        port, data_dir, bridge_env(port, emulator, data_dir, IB_BRIDGE_LOG_LEVEL="DEBUG")
    )
    bridge.start()
    try:
        scan = Run(bridge, emulator)
        full_run(scan)
        yield scan
    finally:
        bridge.stop()
        emulator.stop()


def _exposed(response: httpx.Response) -> str:
    """Everything a client sees of a response: status line, every header, the body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    body = response.content.decode("utf-8", "replace")
    return f"{response.status_code} {response.reason_phrase}\n{headers}\n\n{body}"


@pytest.mark.parametrize("name", STEPS)
def test_no_response_of_the_step_carries_the_sid(run: Run, name: str) -> None:
    responses = run.steps[name]
    assert responses, f"the step {name} made no request"
    for response in responses:
        # IB's own 500 (armed in the emulator) is relayed as IB's answer; nothing else is 5xx.
        relayed = name == "proxy-ib-failure" and "injected_failure" in response.text
        assert response.status_code < 500 or relayed, (name, response.text[:200])
        exposed = _exposed(response)
        assert run.sid not in exposed, (name, str(response.request.url))
        assert run.sid.upper() not in exposed.upper()


LOG_SECRETS: dict[str, Callable[[Run], list[str]]] = {
    "sid": lambda r: [r.sid],
    "access-tokens": lambda r: [v for k, v in r.secrets.items() if k.startswith("access")],
    "refresh-tokens": lambda r: [v for k, v in r.secrets.items() if k.startswith("refresh")],
    "authorization-codes": lambda r: [v for k, v in r.secrets.items() if k.startswith("code")],
    "client-secret": lambda r: [r.secrets["client_secret"]],
}


@pytest.mark.parametrize("what", LOG_SECRETS.values(), ids=LOG_SECRETS.keys())
def test_no_log_line_carries_a_secret(run: Run, what: Callable[[Run], list[str]]) -> None:
    lines = run.bridge.logs().splitlines()
    messages = {str(record.get("message")) for record in run.bridge.log_records()}
    assert {"login completed", "grant revoked"} <= messages, messages
    values = what(run)
    assert values
    assert all(len(v) >= 16 for v in values)
    for line in lines:
        for value in values:
            assert value not in line, line[:200]


def test_the_sid_was_really_in_use(run: Run) -> None:
    """The control: IB got the sid on the proxied calls, which answered 200."""
    assert run.ib_saw_sid
    assert all(r.status_code == 200 for r in run.steps["proxy-reads"])
    assert run.steps["proxy-expired-ib-session"][0].status_code == 401
