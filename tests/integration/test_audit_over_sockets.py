"""The audit log of a real bridge process (uvicorn, JSON logs to its output): request ids on
the wire and in the events, the connection's address, the IB user, and no token in the log."""

from __future__ import annotations

import secrets

import httpx

from servers import Bridge
from signed_in import SignedIn


def audit_events(bridge: Bridge) -> list[dict[str, object]]:
    return [record for record in bridge.log_records() if "event" in record]


def test_a_sign_in_and_a_refused_exchange_are_audited_with_their_request_ids(
    bridge: Bridge, signed_in: SignedIn
) -> None:
    request_id = "it-" + secrets.token_hex(8)
    answer = httpx.post(
        f"{bridge.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": "no-such-code",
            "redirect_uri": "http://127.0.0.1:9/cb",
            "client_id": "mcp-public-client",
            "code_verifier": "v" * 43,
        },
        headers={"X-Request-ID": request_id, "User-Agent": "audit-it/1"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.headers["x-request-id"] == request_id
    fresh = httpx.get(f"{bridge.url}/healthz", timeout=10)
    assert len(fresh.headers["x-request-id"]) == 32
    events = audit_events(bridge)
    [failed] = [event for event in events if event.get("request_id") == request_id]
    assert (
        failed.items()
        >= {
            "event": "code.exchange_failed",
            "outcome": "failure",
            "ip": "127.0.0.1",
            "user_agent": "audit-it/1",
            "reason": "invalid_grant",
        }.items()
    )
    exchanged = [event for event in events if event["event"] == "code.exchanged"]
    assert exchanged
    assert exchanged[-1]["ib_user_id"] == "u-demo"
    logs = bridge.logs()
    assert signed_in.access_token not in logs
    assert signed_in.refresh_token not in logs
