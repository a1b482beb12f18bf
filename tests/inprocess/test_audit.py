"""The audit log on whole flows: every security event written once with its fields (time,
event, client, IB user, address, user agent, request id, outcome), never a secret; request ids
on every answer and every log line, through Authlib's worker threads too."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from audit_log import at, authorize_as, events, exchange_from, names
from test_audiences import MCP, PROXY_PATH, bearer, claims
from test_token_exchange import MCP_SERVER, token_exchange

from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.devib.config import DemoUser, default_users
from ib_oauth_bridge.logs import JSONFormatter
from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import CLIENT_ID, authorize, exchange, refresh, start_login
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

UA = "audit-test/1.0"
WEB_APP = ("web-app", "web-app-secret-d5f1c7e2a9b84c36")


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


@pytest.fixture
def settings_overrides(audit_path: Path) -> dict[str, Any]:
    return {"audit_log": str(audit_path)}


class MainLog(logging.Handler):
    """Every line the bridge's main log writes, at every level, as JSON. `attach` once the
    bridge is built (building it configures the main log afresh)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JSONFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def attach(self) -> None:
        root = logging.getLogger("ib_oauth_bridge")
        root.addHandler(self)
        root.setLevel(logging.DEBUG)


@pytest.fixture
def main_log() -> Iterator[MainLog]:
    log = MainLog()
    yield log
    logging.getLogger("ib_oauth_bridge").removeHandler(log)


# Request ids ----------------------------------------------------------------------------------


async def test_every_answer_carries_a_request_id(stack: Stack) -> None:
    fresh = await stack.http.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    again = await stack.http.get("/healthz")
    assert again.headers["x-request-id"] != fresh.headers["x-request-id"]
    kept = await stack.http.get("/healthz", headers={"X-Request-ID": "trace-1:a.b_c"})
    assert kept.headers["x-request-id"] == "trace-1:a.b_c"
    for bad in ("x" * 129, "two words", 'quote"d'):
        replaced = await stack.http.get("/healthz", headers={"X-Request-ID": bad})
        assert replaced.headers["x-request-id"] != bad
        assert len(replaced.headers["x-request-id"]) == 32
    # Answers made before any handler runs carry it too: 404, 431, a wrong Host.
    assert "x-request-id" in (await stack.http.get("/nowhere")).headers
    huge = await stack.http.get("/healthz", headers={"X-Big": "x" * 10_000})
    assert huge.status_code == 431
    assert "x-request-id" in huge.headers
    wrong_host = await stack.http.get("/token", headers={"Host": "evil.example"})
    assert "x-request-id" in wrong_host.headers


async def test_log_lines_name_the_request(stack: Stack, main_log: MainLog) -> None:
    main_log.attach()
    token = await exchange(stack, await authorize(stack))
    body = token.json()
    answer = await stack.http.post(
        "/revoke",
        data={"token": body["refresh_token"], "client_id": CLIENT_ID},
        headers={"X-Request-ID": "revoke-42"},
    )
    assert answer.status_code == 200
    lines = [json.loads(line) for line in main_log.lines]
    revoked = [line for line in lines if line["message"] == "grant revoked"]
    assert [line.get("request_id") for line in revoked] == ["revoke-42"]
    # The audit log is a log of its own: none of its events reach the main log.
    assert not [line for line in lines if line["logger"].startswith("ib_oauth_bridge.audit")]


async def test_events_raised_in_authlibs_threads_name_the_request(
    stack: Stack, audit_path: Path
) -> None:
    """The code is issued in Authlib's worker thread (anyio.to_thread) and the token saved on
    the event loop from that thread (anyio.from_thread): both see the request's context."""
    authorized = await authorize(stack)
    [issued] = events(audit_path, "code.issued")
    assert len(issued["request_id"]) == 32
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": authorized.redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": authorized.verifier,
        },
        headers={"X-Request-ID": "exchange-7", "User-Agent": UA},
    )
    assert answer.status_code == 200
    [exchanged] = events(audit_path, "code.exchanged")
    assert exchanged["request_id"] == "exchange-7"
    assert exchanged["user_agent"] == UA


# Each event, with its fields --------------------------------------------------------------------


async def test_a_sign_in_and_its_tokens_are_audited(stack: Stack, audit_path: Path) -> None:
    authorized = await authorize_as(stack, ip="192.0.2.10")
    token = (await exchange_from(stack, authorized, "192.0.2.11")).json()
    grant_id = claims(token["access_token"])["grant_id"]
    refreshed = await refresh(stack, token["refresh_token"])
    assert refreshed.status_code == 200
    assert names(audit_path) == [
        "login.started",
        "code.issued",
        "login.completed",
        "code.exchanged",
        "token.refreshed",
    ]
    started, issued, completed, exchanged, refreshed_event = events(audit_path)
    common = {"client_id": CLIENT_ID, "outcome": "success"}
    assert started.items() >= {**common, "ip": "192.0.2.10"}.items()
    assert "grant_id" not in started
    assert (
        completed.items()
        >= {
            **common,
            "ib_user_id": "u-demo",
            "grant_id": grant_id,
            "ip": "192.0.2.10",
        }.items()
    )
    assert issued.items() >= {**common, "ib_user_id": "u-demo", "grant_id": grant_id}.items()
    assert completed["request_id"] == issued["request_id"]  # the same poll did both
    assert (
        exchanged.items()
        >= {
            **common,
            "ib_user_id": "u-demo",
            "grant_id": grant_id,
            "ip": "192.0.2.11",
        }.items()
    )
    assert refreshed_event.items() >= {**common, "grant_id": grant_id, "ip": "127.0.0.1"}.items()
    for event in events(audit_path):
        assert event["time"].endswith("Z")
        assert len(event["request_id"]) == 32


async def test_a_reused_refresh_token_is_audited_and_raises_an_alert(
    stack: Stack, audit_path: Path
) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    grant_id = claims(token["access_token"])["grant_id"]
    assert (await refresh(stack, token["refresh_token"])).status_code == 200
    stack.clock.advance(stack.settings.refresh_grace_seconds + 1)
    reused = await refresh(stack, token["refresh_token"])
    assert reused.status_code == 400
    tail = events(audit_path)[-3:]
    assert [event["event"] for event in tail] == [
        "token.refresh_reuse",
        "fraud.refresh_reuse",
        "grant.ended",
    ]
    reuse, alert, ended = tail
    assert reuse.items() >= {"outcome": "revoked", "grant_id": grant_id}.items()
    assert alert.items() >= {"outcome": "alert", "grant_id": grant_id, "revoked": True}.items()
    assert ended.items() >= {"grant_id": grant_id, "reason": "refresh_token_replayed"}.items()


async def test_a_retry_within_the_grace_is_audited(stack: Stack, audit_path: Path) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    assert (await refresh(stack, token["refresh_token"])).status_code == 200
    assert (await refresh(stack, token["refresh_token"])).status_code == 200
    assert names(audit_path)[-1] == "token.refresh_grace"
    assert "fraud.refresh_reuse" not in names(audit_path)


async def test_a_reused_code_is_audited(stack: Stack, audit_path: Path) -> None:
    authorized = await authorize(stack)
    assert (await exchange(stack, authorized)).status_code == 200
    assert (await exchange(stack, authorized)).status_code == 400
    assert names(audit_path)[-3:] == ["code.reuse", "grant.ended", "code.exchange_failed"]
    failed = events(audit_path)[-1]
    assert failed.items() >= {"outcome": "failure", "reason": "invalid_grant"}.items()


async def test_a_pkce_failure_is_audited(stack: Stack, audit_path: Path) -> None:
    authorized = await authorize(stack)
    answer = await exchange(stack, authorized, code_verifier="w" * 43)
    assert answer.status_code == 400
    [failed] = events(audit_path, "code.exchange_failed")
    assert failed.items() >= {"reason": "pkce", "ip": "127.0.0.1"}.items()
    # Named, but a public client proves nothing about who it is: not counted per client.
    assert failed.items() >= {"client_id": CLIENT_ID, "client_authenticated": False}.items()


async def test_revocation_is_audited_through_authlibs_signal(
    stack: Stack, audit_path: Path
) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    grant_id = claims(token["access_token"])["grant_id"]
    answer = await stack.http.post(
        "/revoke", data={"token": token["access_token"], "client_id": CLIENT_ID}
    )
    assert answer.status_code == 200
    assert names(audit_path)[-2:] == ["grant.ended", "token.revoked"]
    revoked = events(audit_path)[-1]
    assert revoked.items() >= {"client_id": CLIENT_ID, "grant_id": grant_id}.items()
    # Revoking an unknown token is not an event.
    await stack.http.post("/revoke", data={"token": "nothing", "client_id": CLIENT_ID})
    assert len(events(audit_path, "token.revoked")) == 1


async def test_cancel_and_expiry_are_audited(stack: Stack, audit_path: Path) -> None:
    async with at(stack, "192.0.2.20") as browser:
        await start_login(stack, browser, challenge="c" * 43, state="s")
        page = await browser.get("/authorize/status")
        assert page.status_code == 200
        stack.clock.advance(stack.settings.ib_login_token_ttl + 1)
        expired = await browser.get("/authorize/status")
        assert expired.json()["status"] == "expired"
    async with at(stack, "192.0.2.21") as browser:
        first = await browser.get(
            f"/authorize?response_type=code&client_id={CLIENT_ID}"
            "&redirect_uri=http://127.0.0.1:53682/callback&state=s"
            f"&code_challenge={'c' * 43}&code_challenge_method=S256"
        )
        cancelled = await browser.post(
            "/authorize/cancel",
            data={"csrf_token": csrf_of(first.text)},
            headers={"Origin": stack.settings.issuer},
        )
        assert cancelled.status_code == 303
    [expired_event] = events(audit_path, "login.expired")
    assert expired_event.items() >= {"outcome": "failure", "ip": "192.0.2.20"}.items()
    [cancelled_event] = events(audit_path, "login.cancelled")
    assert cancelled_event.items() >= {"client_id": CLIENT_ID, "ip": "192.0.2.21"}.items()


async def test_ib_down_at_the_start_is_a_failed_login(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.log"
    emulator = EmulatorConfig(port=1)  # nothing listens there
    async with (
        open_stack(tmp_path, emulator, login_in_process=False, audit_log=str(audit_path)) as stack,
        stack.browser() as browser,
    ):
        page = await browser.get(
            f"/authorize?response_type=code&client_id={CLIENT_ID}"
            "&redirect_uri=http://127.0.0.1:53682/callback&state=s"
            f"&code_challenge={'c' * 43}&code_challenge_method=S256"
        )
        answer = await browser.post(
            "/authorize/platform",
            data={"platform_url": emulator.platform_url, "csrf_token": csrf_of(page.text)},
            headers={"Accept": "application/json", "Origin": stack.settings.issuer},
        )
        assert answer.status_code in {502, 504}, answer.text
    [failed] = events(audit_path, "login.failed")
    assert failed.items() >= {"outcome": "failure", "client_id": CLIENT_ID}.items()
    assert failed["reason"] in {"ib_unavailable", "ib_timeout"}


def csrf_of(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


async def test_registration_is_audited(stack: Stack, audit_path: Path) -> None:
    answer = await stack.http.post(
        "/register",
        json={"redirect_uris": ["https://app.example/cb"], "client_name": "App"},
    )
    assert answer.status_code == 201, answer.text
    refused = await stack.http.post("/register", json={"redirect_uris": ["javascript:x"]})
    assert refused.status_code == 400
    registered, failed = events(audit_path, "client.registered")
    assert (
        registered.items()
        >= {"outcome": "success", "client_id": answer.json()["client_id"]}.items()
    )
    assert failed.items() >= {"outcome": "failure", "reason": refused.json()["error"]}.items()


async def test_a_refused_proxy_target_is_audited(stack: Stack, audit_path: Path) -> None:
    token = (await exchange(stack, await authorize(stack))).json()
    answer = await stack.http.get(
        "/proxy/evil.example.com/api/3.0.0/x", headers=bearer(token["access_token"])
    )
    assert answer.status_code == 403
    [refused] = events(audit_path, "proxy.target_refused")
    assert (
        refused.items()
        >= {
            "outcome": "refused",
            "client_id": CLIENT_ID,
            "ib_user_id": "u-demo",
            "grant_id": claims(token["access_token"])["grant_id"],
        }.items()
    )
    await stack.bridge.upstream.aclose()


async def test_rate_limiting_is_audited(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.log"
    async with open_stack(
        tmp_path, token_rate_limit="1/minute", audit_log=str(audit_path)
    ) as stack:
        await stack.http.post("/token", data={"grant_type": "refresh_token"})
        limited = await stack.http.post("/token", data={"grant_type": "refresh_token"})
        assert limited.status_code == 429
    [event] = events(audit_path, "rate.limited")
    assert (
        event.items()
        >= {
            "outcome": "refused",
            "reason": "token",
            "retry_after": int(limited.headers["retry-after"]),
        }.items()
    )


# No secret, anywhere ----------------------------------------------------------------------------


def basic(client: tuple[str, str]) -> dict[str, str]:
    credentials = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


async def test_no_secret_reaches_the_audit_log_or_the_main_log(
    tmp_path: Path, main_log: MainLog
) -> None:
    """A whole life: sign-in, exchange, refresh, reuse, revocation, a proxy call, a token
    exchange, a confidential client's sign-in, a registration. Then no access token, refresh
    token, code, sid, client secret or password is in the audit log or the main log."""
    audit_path = tmp_path / "audit.log"
    password = "pw-" + base64.b32encode(b"the user's own password").decode().lower()
    emulator = EmulatorConfig(
        users=[
            *default_users(),
            DemoUser(password, password, "Pat", "Secret", "pat@example.com", "u-pat"),
        ]
    )
    confidential = ClientConfig(
        client_id=WEB_APP[0],
        client_secret=WEB_APP[1],
        token_endpoint_auth_method="client_secret_post",
        redirect_uris=("http://127.0.0.1:53682/callback",),
    )
    mcp_server = ClientConfig(
        client_id=MCP_SERVER[0],
        client_secret=MCP_SERVER[1],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(),
        token_exchange=True,
        resource=MCP,
    )
    secrets: list[str] = [password, WEB_APP[1], MCP_SERVER[1]]
    async with open_stack(
        tmp_path, emulator, audit_log=str(audit_path), clients=(confidential, mcp_server)
    ) as stack:
        main_log.attach()
        # Sign in, exchange, refresh, then reuse the first refresh token.
        authorized = await authorize_as(stack, password)
        first = (await exchange(stack, authorized)).json()
        second = (await refresh(stack, first["refresh_token"])).json()
        stack.clock.advance(stack.settings.refresh_grace_seconds + 1)
        assert (await refresh(stack, first["refresh_token"])).status_code == 400
        secrets += [authorized.code, authorized.verifier, *token_values(first, second)]
        # A second sign-in: a proxy call, a refused proxy target, a token exchange, revocation.
        authorized = await authorize_as(stack, password, resource=MCP, scope="ib.read")
        mcp_token = (await exchange(stack, authorized)).json()
        exchanged = await token_exchange(stack, mcp_token["access_token"])
        assert exchanged.status_code == 200, exchanged.text
        proxy_token = exchanged.json()["access_token"]
        await stack.http.get(PROXY_PATH, headers=bearer(proxy_token))
        await stack.http.get("/proxy/evil.example.com/x", headers=bearer(proxy_token))
        grant = await stack.store.get_grant(claims(proxy_token)["grant_id"])
        assert grant is not None
        sid = stack.bridge.cipher.decrypt(grant.sid_ciphertext, grant_id=grant.grant_id)
        await stack.http.post(
            "/revoke", data={"token": mcp_token["refresh_token"], "client_id": CLIENT_ID}
        )
        secrets += [sid, authorized.code, proxy_token, *token_values(mcp_token)]
        # A confidential client's sign-in, a wrong secret, a registration.
        authorized = await authorize_as(stack, password, client_id=WEB_APP[0])
        authorized.client_id = WEB_APP[0]
        web = await exchange(stack, authorized, client_secret=WEB_APP[1])
        assert web.status_code == 200, web.text
        await stack.http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": web.json()["refresh_token"]},
            headers=basic((WEB_APP[0], "wrong-" + WEB_APP[1])),
        )
        registered = await stack.http.post(
            "/register",
            json={
                "redirect_uris": ["https://app.example/cb"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        secrets += [authorized.code, *token_values(web.json()), registered.json()["client_secret"]]
        await stack.bridge.upstream.aclose()
    audit_text = audit_path.read_text(encoding="utf-8")
    main_text = "\n".join(main_log.lines)
    assert {"token.exchanged", "token.revoked", "client.registered", "proxy.target_refused"} <= set(
        names(audit_path)
    )
    assert len(main_log.lines) > 5
    for secret in secrets:
        assert len(secret) >= 16
        assert secret not in audit_text
        assert secret not in main_text


def token_values(*answers: dict[str, Any]) -> list[str]:
    return [
        answer[name]
        for answer in answers
        for name in ("access_token", "refresh_token", "id_token")
        if name in answer
    ]


async def test_an_unexpected_error_names_its_request(
    stack: Stack, main_log: MainLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(stack.bridge.login, "start", broken)
    main_log.attach()
    app = stack.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=stack.settings.issuer) as http:
        answer = await http.get("/authorize", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "boom-1"
    [line] = [json.loads(line) for line in main_log.lines if "unhandled error" in line]
    assert line["request_id"] == "boom-1"


async def test_a_browser_app_can_read_the_request_id_cross_origin(tmp_path: Path) -> None:
    async with open_stack(tmp_path, cors_origins=("https://spa.example",)) as stack:
        answer = await stack.http.get(
            "/jwks.json", headers={"Origin": "https://spa.example", "X-Request-ID": "spa-1"}
        )
    assert answer.headers["x-request-id"] == "spa-1"
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed.replace(" ", "").split(",")
