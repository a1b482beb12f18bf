"""The audit event's shape: a fixed set of typed fields (no free-form mapping a caller could
fill with a secret), a JWT wherever it turns up replaced, reasons limited to short codes, text
cut short, and the request's id, address and user agent taken from the request context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ib_oauth_bridge.audit import Audit, configure_audit_log, emit_key_rotated
from ib_oauth_bridge.audit.context import RequestContext, enter, leave, request_id_from
from ib_oauth_bridge.audit.events import FIELDS, MAX_TEXT, REDACTED, AuditEvent, Event, Outcome
from ib_oauth_bridge.settings import Settings, SettingsError

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LWRlbW8ifQ.c2lnbmF0dXJl"


def test_the_fields_are_fixed() -> None:
    assert set(FIELDS) == {
        "event", "outcome", "time", "request_id", "ip", "user_agent", "client_id",
        "client_authenticated", "ib_user_id", "grant_id", "reason", "count", "window",
        "retry_after", "revoked", "key_id", "previous_key_id", "actor",
    }  # fmt: skip
    with pytest.raises(TypeError):
        AuditEvent(event=Event.CODE_ISSUED, outcome=Outcome.SUCCESS, time=0, token="x")  # type: ignore[call-arg]


def test_a_jwt_is_never_written_whichever_field_carries_it() -> None:
    event = AuditEvent(
        event=Event.CODE_ISSUED,
        outcome=Outcome.SUCCESS,
        time=0,
        client_id=JWT,
        user_agent=f"curl/8 {JWT}",
        grant_id=JWT,
        ib_user_id=JWT,
        request_id=JWT,
    )
    line = event.as_json()
    assert "eyJ" not in line
    assert json.loads(line)["client_id"] == REDACTED


def test_a_reason_is_a_short_code_or_other() -> None:
    def reason(text: str) -> str | None:
        return AuditEvent(
            event=Event.GRANT_ENDED, outcome=Outcome.REVOKED, time=0, reason=text
        ).reason

    assert reason("refresh_token_replayed") == "refresh_token_replayed"
    assert reason("password=hunter2") == "other"
    assert reason("x" * 65) == "other"


def test_text_is_cut_short() -> None:
    event = AuditEvent(
        event=Event.LOGIN_STARTED, outcome=Outcome.SUCCESS, time=0, client_id="c" * 10_000
    )
    assert event.client_id == "c" * MAX_TEXT


def test_the_line_is_json_with_time_event_and_outcome() -> None:
    line = AuditEvent(
        event=Event.TOKEN_REVOKED, outcome=Outcome.SUCCESS, time=1_700_000_000.25, grant_id="g"
    ).as_json()
    assert json.loads(line) == {
        "event": "token.revoked",
        "outcome": "success",
        "time": "2023-11-14T22:13:20.250Z",
        "grant_id": "g",
    }


def test_an_event_names_the_request_being_served(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    audit = Audit.from_settings(Settings(audit_log=str(log)), clock=lambda: 0.0)
    token = enter(RequestContext("req-1", ip="192.0.2.7", user_agent="agent/1"))
    try:
        audit.emit(Event.LOGIN_STARTED, client_id="c")
    finally:
        leave(token)
    audit.emit(Event.LOGIN_STARTED, client_id="c")  # outside any request
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert (first["request_id"], first["ip"], first["user_agent"]) == (
        "req-1",
        "192.0.2.7",
        "agent/1",
    )
    assert "request_id" not in second
    assert "ip" not in second
    configure_audit_log("off")


def test_key_rotation_is_written_for_the_cli(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    emit_key_rotated(Settings(audit_log=str(log)), key_id="kid-2026-11", clock=lambda: 0.0)
    assert json.loads(log.read_text()) == {
        "event": "key.rotated",
        "outcome": "success",
        "time": "1970-01-01T00:00:00.000Z",
        "key_id": "kid-2026-11",
    }
    configure_audit_log("off")


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("abc-123", True),
        ("a.b_c:d-e", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("has space", False),
        ("new\nline", False),
        ("ümlaut", False),
        (None, False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_safe(header: str | None, kept: bool) -> None:
    request_id = request_id_from(header)
    assert (request_id == header) is kept
    if not kept:
        assert len(request_id) == 32
        assert int(request_id, 16) >= 0


def test_the_audit_and_fraud_settings_are_read_from_the_environment() -> None:
    defaults = Settings()
    assert (defaults.audit_log, defaults.fraud_exchange_failures) == ("stdout", 10)
    assert defaults.fraud_grant_addresses_revoke is False
    settings = Settings.from_env(
        {
            "IB_BRIDGE_DEV": "1",
            "IB_BRIDGE_AUDIT_LOG": "/var/log/bridge-audit.log",
            "IB_BRIDGE_FRAUD_EXCHANGE_FAILURES": "0",
            "IB_BRIDGE_FRAUD_EXCHANGE_FAILURE_WINDOW": "120",
            "IB_BRIDGE_FRAUD_EXCHANGE_BLOCK_SECONDS": "60",
            "IB_BRIDGE_FRAUD_GRANT_ADDRESSES": "3",
            "IB_BRIDGE_FRAUD_GRANT_ADDRESS_WINDOW": "300",
            "IB_BRIDGE_FRAUD_GRANT_ADDRESSES_REVOKE": "true",
            "IB_BRIDGE_FRAUD_USERS_PER_ADDRESS": "50",
            "IB_BRIDGE_FRAUD_USERS_PER_ADDRESS_WINDOW": "600",
        }
    )
    settings.check()
    assert settings.audit_log == "/var/log/bridge-audit.log"
    assert (settings.fraud_exchange_failures, settings.fraud_exchange_failure_window) == (0, 120)
    assert settings.fraud_exchange_block_seconds == 60
    assert (settings.fraud_grant_addresses, settings.fraud_grant_address_window) == (3, 300)
    assert settings.fraud_grant_addresses_revoke is True
    assert (settings.fraud_users_per_address, settings.fraud_users_per_address_window) == (50, 600)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IB_BRIDGE_FRAUD_EXCHANGE_FAILURES", "-1"),
        ("IB_BRIDGE_FRAUD_EXCHANGE_FAILURE_WINDOW", "0"),
        ("IB_BRIDGE_FRAUD_EXCHANGE_BLOCK_SECONDS", "0"),
        ("IB_BRIDGE_FRAUD_USERS_PER_ADDRESS_WINDOW", "0"),
    ],
)
def test_a_fraud_setting_out_of_range_stops_the_start(name: str, value: str) -> None:
    settings = Settings.from_env({"IB_BRIDGE_DEV": "1", name: value})
    with pytest.raises(SettingsError, match=name):
        settings.check()


def test_an_audit_log_that_cannot_be_opened_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="IB_BRIDGE_AUDIT_LOG"):
        Audit.from_settings(Settings(audit_log=str(tmp_path / "missing" / "audit.log")))
