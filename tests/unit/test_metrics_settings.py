"""IB_BRIDGE_METRICS and its token, and the store timing wrapper's edge cases."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Histogram

from ib_oauth_bridge.metrics import authorized, instrument_store
from ib_oauth_bridge.settings import Settings, SettingsError

TOKEN = "0123456789abcdef-metrics"


@pytest.mark.parametrize(
    ("value", "listener"),
    [
        ("off", None),
        ("bearer", None),
        ("port:9464", ("127.0.0.1", 9464)),
        ("PORT:9464", ("127.0.0.1", 9464)),
        ("port:0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("port:[::1]:9100", ("::1", 9100)),
    ],
)
def test_metrics_modes(value: str, listener: tuple[str, int] | None) -> None:
    settings = Settings.from_env(
        {"IB_BRIDGE_DEV": "1", "IB_BRIDGE_METRICS": value, "IB_BRIDGE_METRICS_TOKEN": TOKEN}
    )
    settings.check()
    assert settings.metrics_listener == listener


@pytest.mark.parametrize(
    "value", ["on", "port:", "port:abc", "port:70000", "port:0", "port:host:", "bearer:x"]
)
def test_a_malformed_mode_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="IB_BRIDGE_METRICS must be"):
        Settings.from_env({"IB_BRIDGE_DEV": "1", "IB_BRIDGE_METRICS": value}).check()


def test_bearer_needs_a_long_token() -> None:
    with pytest.raises(SettingsError, match="needs IB_BRIDGE_METRICS_TOKEN"):
        Settings.from_env({"IB_BRIDGE_DEV": "1", "IB_BRIDGE_METRICS": "bearer"}).check()
    short = {"IB_BRIDGE_DEV": "1", "IB_BRIDGE_METRICS": "bearer", "IB_BRIDGE_METRICS_TOKEN": "x"}
    with pytest.raises(SettingsError, match="at least 16"):
        Settings.from_env(short).check()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Basic {TOKEN}", False),
        (f"Bearer {TOKEN}é", False),
    ],
)
def test_the_token_comparison(header: str | None, expected: bool) -> None:
    assert authorized(header, TOKEN) is expected


class SlottedStore:
    __slots__ = ()

    async def ping(self) -> bool:
        return True


class PlainStore:
    calls = 0

    @property
    def touched(self) -> int:
        PlainStore.calls += 1
        return 0

    async def ping(self) -> bool:
        return True

    def sync(self) -> int:
        return 1


def histogram() -> Histogram:
    return Histogram("t_seconds", "t", ["method"], registry=CollectorRegistry())


def test_a_store_without_attributes_stays_untimed() -> None:
    store = SlottedStore()
    assert instrument_store(store, histogram()) is False
    assert asyncio.run(store.ping()) is True


def test_only_async_methods_are_timed_and_no_property_runs() -> None:
    store, timing = PlainStore(), histogram()
    assert instrument_store(store, timing) is True
    assert instrument_store(store, timing) is True  # idempotent
    assert asyncio.run(store.ping()) is True
    assert store.sync() == 1
    assert PlainStore.calls == 0
    counts = {
        s.labels["method"]: s.value
        for family in timing.collect()
        for s in family.samples
        if s.name == "t_seconds_count"
    }
    assert counts == {"ping": 1.0}
