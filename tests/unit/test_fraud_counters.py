"""The fraud rules (audit.fraud) on their own: each rule's trigger just past its threshold, its
silence at the threshold, windows that forget, a block that lifts when the clock moves past it,
and a counter table that cannot grow without bound."""

from __future__ import annotations

import dataclasses

from ib_oauth_bridge.audit.events import AuditEvent, Event, Outcome
from ib_oauth_bridge.audit.fraud import FraudRules, MemoryCounters, Thresholds

THRESHOLDS = Thresholds(
    exchange_failures=3,
    exchange_failure_window=60,
    exchange_block_seconds=100,
    grant_addresses=2,
    grant_address_window=600,
    grant_addresses_revoke=False,
    users_per_address=2,
    users_per_address_window=3600,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def rules(**changes: object) -> tuple[FraudRules, Clock]:
    clock = Clock()
    return FraudRules(dataclasses.replace(THRESHOLDS, **changes), MemoryCounters(), clock), clock


def failed_exchange(
    clock: Clock, ip: str = "192.0.2.1", client: str | None = None, *, secret: bool = False
) -> AuditEvent:
    return AuditEvent(
        event=Event.CODE_EXCHANGE_FAILED,
        outcome=Outcome.FAILURE,
        time=clock(),
        ip=ip,
        client_id=client,
        client_authenticated=secret,
        reason="pkce",
    )


def signed_in(clock: Clock, user: str, ip: str = "192.0.2.1") -> AuditEvent:
    return AuditEvent(
        event=Event.LOGIN_COMPLETED, outcome=Outcome.SUCCESS, time=clock(), ip=ip, ib_user_id=user
    )


def test_a_refresh_reuse_raises_its_alert() -> None:
    fraud, clock = rules()
    reuse = AuditEvent(
        event=Event.TOKEN_REFRESH_REUSE,
        outcome=Outcome.REVOKED,
        time=clock(),
        grant_id="g1",
        client_id="c1",
    )
    [alert] = fraud.observe(reuse)
    assert alert.event is Event.FRAUD_REFRESH_REUSE
    assert (alert.outcome, alert.grant_id, alert.client_id, alert.revoked) == (
        Outcome.ALERT,
        "g1",
        "c1",
        True,
    )


def test_failed_exchanges_block_the_address_just_past_the_threshold() -> None:
    fraud, clock = rules()
    for _ in range(3):
        assert fraud.observe(failed_exchange(clock)) == []
    assert fraud.blocked("192.0.2.1", None) is None  # at the threshold: not yet
    [alert] = fraud.observe(failed_exchange(clock))
    assert alert.event is Event.FRAUD_EXCHANGE_BLOCKED
    assert (alert.reason, alert.count, alert.window, alert.retry_after) == ("by_ip", 4, 60, 100)
    assert fraud.blocked("192.0.2.1", None) == 100
    assert fraud.blocked("192.0.2.2", None) is None  # another address is not
    clock.now += 99.5
    assert fraud.blocked("192.0.2.1", None) == 1
    clock.now += 1
    assert fraud.blocked("192.0.2.1", None) is None  # the block has lifted


def test_failures_older_than_the_window_do_not_count() -> None:
    fraud, clock = rules()
    for _ in range(3):
        fraud.observe(failed_exchange(clock))
    clock.now += 61
    assert fraud.observe(failed_exchange(clock)) == []
    assert fraud.blocked("192.0.2.1", None) is None


def test_a_confidential_client_is_blocked_from_any_address() -> None:
    fraud, clock = rules()
    for n in range(4):
        fraud.observe(failed_exchange(clock, f"198.51.100.{n}", "web-app", secret=True))
    assert fraud.blocked("203.0.113.9", "web-app") == 100
    assert fraud.blocked("203.0.113.9", "other-app") is None


def test_a_public_client_is_never_blocked_per_client() -> None:
    """Its id is anyone's to send: counting it would let anyone lock its users out."""
    fraud, clock = rules()
    for n in range(10):
        fraud.observe(failed_exchange(clock, f"198.51.100.{n}", "mcp-public-client"))
    assert fraud.blocked("203.0.113.9", "mcp-public-client") is None


def test_one_grant_from_more_addresses_than_allowed_raises_an_alert() -> None:
    fraud, _ = rules()
    use = {"client_id": "c1", "ib_user_id": "u1"}
    assert fraud.grant_used("g1", "192.0.2.1", **use).alert is None
    assert fraud.grant_used("g1", "192.0.2.2", **use).alert is None  # at the threshold
    assert fraud.grant_used("g1", "192.0.2.1", **use).alert is None  # a known address
    verdict = fraud.grant_used("g1", "192.0.2.3", **use)
    assert verdict.alert is not None
    assert not verdict.revoke
    assert verdict.alert.event is Event.FRAUD_GRANT_MANY_ADDRESSES
    assert (verdict.alert.count, verdict.alert.grant_id, verdict.alert.revoked) == (3, "g1", False)
    assert fraud.grant_used("g2", "192.0.2.3", **use).alert is None  # per grant


def test_grant_addresses_outside_the_window_are_forgotten() -> None:
    fraud, clock = rules()
    use = {"client_id": "c1", "ib_user_id": "u1"}
    fraud.grant_used("g1", "192.0.2.1", **use)
    fraud.grant_used("g1", "192.0.2.2", **use)
    clock.now += 601
    assert fraud.grant_used("g1", "192.0.2.3", **use).alert is None


def test_the_grant_rule_revokes_when_configured() -> None:
    fraud, _ = rules(grant_addresses_revoke=True)
    use = {"client_id": "c1", "ib_user_id": "u1"}
    for n in range(2):
        assert not fraud.grant_used("g1", f"192.0.2.{n}", **use).revoke
    verdict = fraud.grant_used("g1", "192.0.2.9", **use)
    assert verdict.revoke
    assert verdict.alert is not None
    assert verdict.alert.revoked


def test_many_users_through_one_address_raise_an_alert() -> None:
    fraud, clock = rules()
    assert fraud.observe(signed_in(clock, "u1")) == []
    assert fraud.observe(signed_in(clock, "u2")) == []  # at the threshold
    assert fraud.observe(signed_in(clock, "u1")) == []  # the same user again
    [alert] = fraud.observe(signed_in(clock, "u3"))
    assert alert.event is Event.FRAUD_MANY_USERS_ONE_ADDRESS
    assert (alert.count, alert.ip, alert.window) == (3, "192.0.2.1", 3600)
    assert fraud.observe(signed_in(clock, "u4", ip="192.0.2.2")) == []  # per address


def test_a_rule_set_to_zero_is_off() -> None:
    fraud, clock = rules(exchange_failures=0, grant_addresses=0, users_per_address=0)
    for n in range(20):
        assert fraud.observe(failed_exchange(clock)) == []
        assert fraud.observe(signed_in(clock, f"u{n}")) == []
        assert fraud.grant_used("g1", f"192.0.2.{n}", client_id=None, ib_user_id=None).alert is None
    assert fraud.blocked("192.0.2.1", None) is None


def test_the_counters_keep_a_bounded_number_of_keys() -> None:
    counters = MemoryCounters(max_keys=3)
    for n in range(10):
        counters.hit(f"k{n}", 0.0, 60)
        counters.add_member(f"m{n}", "x", 0.0, 60)
        counters.block(f"b{n}", 100.0)
    assert counters.blocked_until("b9", 0.0) == 100.0
    assert counters.blocked_until("b0", 0.0) is None  # the oldest forgotten
    assert counters.hit("k0", 0.0, 60) == 1
    assert counters.add_member("m9", "x", 0.0, 60) is None  # still known
