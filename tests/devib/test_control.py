"""The `/_emulator/...` control endpoints: faults, latency, request log, reset."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import RunningEmulator, SignIn


def test_failure_injection_on_v3(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    armed = client.post(
        f"{ib.platform}/_emulator/fail",
        json={"status": 503, "times": 2, "path_contains": "resource"},
    )
    assert armed.status_code == 200
    headers = {"sid": sid}
    # A call not matching the path is untouched and does not use up the failure.
    assert client.get(ib.v3("user.limit(1)"), headers=headers).status_code == 200
    for _ in range(2):
        failed = client.get(ib.v3("resource.limit(1)"), headers=headers)
        assert failed.status_code == 503
        assert failed.json()["error"] == "injected_failure"
    assert client.get(ib.v3("resource.limit(1)"), headers=headers).status_code == 200


def test_failure_injection_on_login(ib: RunningEmulator, client: httpx.Client) -> None:
    client.post(
        f"{ib.platform}/_emulator/fail",
        json={"status": 502, "times": 1, "path_contains": "/v1/auth/app/token"},
    ).raise_for_status()
    assert client.post(f"{ib.platform}/v1/auth/app/token").status_code == 502
    assert client.post(f"{ib.platform}/v1/auth/app/token").status_code == 200


def test_failure_everywhere_spares_control(ib: RunningEmulator, client: httpx.Client) -> None:
    client.post(f"{ib.platform}/_emulator/fail", json={"status": 500, "times": 5})
    assert client.get(f"{ib.platform}/_emulator/requests").status_code == 200
    assert client.post(f"{ib.platform}/v1/auth/app/token").status_code == 500


@pytest.mark.parametrize(
    "body",
    [
        {"status": 0},
        {"status": 200},
        {"status": "503"},
        {"status": 503, "times": -1},
        {"status": 503, "path_contains": 5},
        [],
    ],
)
def test_bad_fail_requests(ib: RunningEmulator, client: httpx.Client, body: object) -> None:
    answer = client.post(f"{ib.platform}/_emulator/fail", json=body)
    assert answer.status_code == 400


def test_latency_setting(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    answer = client.post(f"{ib.platform}/_emulator/config", json={"latency_ms": 300})
    assert answer.json()["latency_ms"] == 300
    started = time.monotonic()
    assert client.get(ib.v3("resource.limit(1)"), headers={"sid": sid}).status_code == 200
    assert time.monotonic() - started >= 0.3
    # Latency is for the v3 API only; the login endpoints stay fast.
    started = time.monotonic()
    client.post(f"{ib.platform}/v1/auth/app/token").raise_for_status()
    assert time.monotonic() - started < 0.3


def test_login_latency_setting(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    """`login_latency_ms` stalls IB's login API only (a bridge test's IB that answers late or,
    past the bridge's timeout, not at all); the v3 API and the control endpoints stay fast."""
    answer = client.post(f"{ib.platform}/_emulator/config", json={"login_latency_ms": 300})
    assert answer.json()["login_latency_ms"] == 300
    started = time.monotonic()
    client.post(f"{ib.platform}/v1/auth/app/token").raise_for_status()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert client.get(ib.v3("resource.limit(1)"), headers={"sid": sid}).status_code == 200
    client.get(f"{ib.platform}/_emulator/config").raise_for_status()
    assert time.monotonic() - started < 0.3
    client.post(f"{ib.platform}/_emulator/reset").raise_for_status()
    assert client.get(f"{ib.platform}/_emulator/config").json()["login_latency_ms"] == 0


def test_config_changes_login_timeout(
    ib: RunningEmulator, client: httpx.Client, sign_in: SignIn
) -> None:
    answer = client.post(f"{ib.platform}/_emulator/config", json={"login_timeout_hours": 2})
    assert answer.json()["login_timeout_hours"] == 2
    assert sign_in()["content"]["info"]["logintimeoutperiod"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"latency_ms": -1},
        {"latency_ms": "5"},
        {"login_latency_ms": -1},
        {"login_latency_ms": 600_001},
        {"login_timeout_hours": 0},
        {"login_timeout_hours": 1.5},
        {"login_token_ttl": True},
        {"port": 1},
        "x",
    ],
)
def test_bad_config_changes_nothing(
    ib: RunningEmulator, client: httpx.Client, body: object
) -> None:
    answer = client.post(f"{ib.platform}/_emulator/config", json=body)
    assert answer.status_code == 400
    current = client.get(f"{ib.platform}/_emulator/config").json()
    assert current["latency_ms"] == 0
    assert current["login_latency_ms"] == 0
    assert current["login_timeout_hours"] == 24


def test_request_log_keeps_raw_bytes_and_redacts_sid(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    raw = "/api/3.0.0/BnK4JV/resource.limit(0,5).order(lastUpdateTime:-1)"
    query = "searchParams[keywords]=logo&verbose=true"
    answer = client.get(
        f"{ib.api}{raw}?{query}",
        headers={"sid": sid, "x-trace": "t1"},
    )
    assert answer.status_code == 200
    log = client.get(f"{ib.platform}/_emulator/requests").json()["requests"]
    entry = log[-1]
    assert entry["method"] == "GET"
    assert entry["raw_path"] == raw
    assert entry["query_string"] == query
    assert entry["sid_present"] is True
    assert ["sid", "<redacted>"] in entry["headers"]
    assert ["x-trace", "t1"] in entry["headers"]
    assert sid not in str(log)

    client.get(ib.v3("resource"))
    assert (
        client.get(f"{ib.platform}/_emulator/requests").json()["requests"][-1]["sid_present"]
        is False
    )


def test_request_log_keeps_last_50(ib: RunningEmulator, client: httpx.Client) -> None:
    for n in range(55):
        client.get(ib.v3(f"resource/{n}"))
    log = client.get(f"{ib.platform}/_emulator/requests").json()["requests"]
    assert len(log) == 50
    assert log[0]["raw_path"].endswith("/resource/5")
    assert log[-1]["raw_path"].endswith("/resource/54")


def test_login_calls_are_not_in_request_log(ib: RunningEmulator, client: httpx.Client) -> None:
    client.post(f"{ib.platform}/v1/auth/app/token")
    assert client.get(f"{ib.platform}/_emulator/requests").json() == {"requests": []}


def test_reset_clears_everything(
    ib: RunningEmulator, client: httpx.Client, sid: str, sign_in: SignIn
) -> None:
    base = ib.platform
    client.post(ib.v3("resource"), headers={"sid": sid}, json={"data": {"name": "x"}})
    client.post(ib.v3("file"), headers={"sid": sid}, content=b"abc")
    client.post(f"{base}/_emulator/config", json={"latency_ms": 5, "login_timeout_hours": 3})
    client.post(
        f"{base}/_emulator/fail",
        json={"status": 503, "times": 3, "path_contains": "/auth/app/token"},
    )
    answer = client.post(f"{base}/_emulator/reset")
    assert answer.status_code == 200
    assert answer.json()["latency_ms"] == 0
    assert answer.json()["login_timeout_hours"] == 24
    assert client.get(ib.v3("resource"), headers={"sid": sid}).status_code == 401
    assert client.get(f"{base}/_emulator/uploads").json() == {"uploads": []}
    assert len(client.get(f"{base}/_emulator/requests").json()["requests"]) == 1
    # The failure is disarmed (sign_in would raise on a 503) and the created resource gone.
    fresh = sign_in()["content"]["session"]["sid"]
    listed = client.get(ib.v3("resource.limit(0)"), headers={"sid": fresh})
    assert listed.json()["response"]["count"] == 120


def test_unknown_paths_and_methods_get_json(ib: RunningEmulator, client: httpx.Client) -> None:
    missing = client.get(f"{ib.platform}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = client.get(f"{ib.platform}/v1/auth/app/token")
    assert wrong_method.status_code == 405
    assert "message" in wrong_method.json()
