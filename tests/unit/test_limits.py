"""The limits that keep one client from holding the bridge: their settings and start-up checks,
the per-grant slots of the upstream pool, the header limits, and the options `serve` and `dev`
give uvicorn. Their behaviour over real sockets: tests/integration/test_proxy_fairness.py."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ib_oauth_bridge import cli
from ib_oauth_bridge.handlers.header_limits import HeaderLimits
from ib_oauth_bridge.ib.upstream import Upstream
from ib_oauth_bridge.settings import Settings, SettingsError


def test_defaults_and_variables() -> None:
    defaults = Settings.from_env({})
    assert defaults.proxy_max_concurrent_per_grant == 8
    assert defaults.proxy_max_concurrent_per_grant < defaults.upstream_max_connections
    assert defaults.proxy_max_upload_bytes == 0  # no cap: IB files can be gigabytes
    assert (defaults.max_header_value_bytes, defaults.max_header_bytes,
            defaults.max_header_count) == (8192, 65536, 100)
    assert defaults.server_limit_concurrency is None
    settings = Settings.from_env({
        "IB_BRIDGE_PROXY_MAX_CONCURRENT_PER_GRANT": "3",
        "IB_BRIDGE_PROXY_BODY_IDLE_TIMEOUT": "2.5",
        "IB_BRIDGE_PROXY_SEND_TIMEOUT": "4",
        "IB_BRIDGE_PROXY_MAX_UPLOAD_BYTES": "1048576",
        "IB_BRIDGE_MAX_HEADER_VALUE_BYTES": "4096",
        "IB_BRIDGE_MAX_HEADER_BYTES": "32768",
        "IB_BRIDGE_MAX_HEADER_COUNT": "50",
        "IB_BRIDGE_SERVER_KEEP_ALIVE_TIMEOUT": "10",
        "IB_BRIDGE_SERVER_LIMIT_CONCURRENCY": "2000",
    })
    assert settings.proxy_max_concurrent_per_grant == 3
    assert settings.proxy_body_idle_timeout == 2.5
    assert settings.proxy_send_timeout == 4
    assert settings.proxy_max_upload_bytes == 1048576
    assert (settings.max_header_value_bytes, settings.max_header_bytes,
            settings.max_header_count) == (4096, 32768, 50)
    assert settings.server_keep_alive_timeout == 10
    assert settings.server_limit_concurrency == 2000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IB_BRIDGE_PROXY_MAX_CONCURRENT_PER_GRANT": "200"}, "must be below"),
        ({"IB_BRIDGE_UPSTREAM_MAX_CONNECTIONS": "8"}, "must be below"),
        ({"IB_BRIDGE_PROXY_MAX_CONCURRENT_PER_GRANT": "0"}, "positive"),
        ({"IB_BRIDGE_PROXY_BODY_IDLE_TIMEOUT": "0"}, "positive"),
        ({"IB_BRIDGE_PROXY_SEND_TIMEOUT": "-1"}, "positive"),
        ({"IB_BRIDGE_MAX_HEADER_BYTES": "0"}, "positive"),
        ({"IB_BRIDGE_PROXY_MAX_UPLOAD_BYTES": "-5"}, "no cap"),
    ],
)
def test_unsafe_limits_are_refused_at_start_even_in_dev_mode(
    env: dict[str, str], message: str
) -> None:
    """One grant's share must stay below the pool: with a cap equal to the pool, one signed-in
    user's slow uploads would hold every connection to IB again."""
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"IB_BRIDGE_DEV": "1", **env}).check()


def test_a_grant_has_at_most_its_cap_of_slots() -> None:
    upstream = Upstream(connect_timeout=1, read_timeout=1, max_connections=4, max_per_grant=2)
    first, second = upstream.grant_slot("g1"), upstream.grant_slot("g1")
    assert first is not None
    assert second is not None
    assert upstream.grant_slot("g1") is None  # the cap
    assert upstream.grant_slot("g2") is not None  # another grant is not affected
    first.release()
    first.release()  # idempotent: a second release gives nothing back twice
    assert upstream.in_flight("g1") == 1
    third = upstream.grant_slot("g1")
    assert third is not None
    assert upstream.grant_slot("g1") is None
    second.release()
    third.release()
    assert upstream.in_flight("g1") == 0


def test_header_limits() -> None:
    async def app(*_: object) -> None:
        pass

    limits = HeaderLimits(app, max_value_bytes=10, max_total_bytes=30, max_count=3)
    assert limits.problem([(b"a", b"x" * 10), (b"b", b"y")]) is None
    assert "longer than 10 bytes" in (limits.problem([(b"big", b"x" * 11)]) or "")
    assert "more than 3 header fields" in (limits.problem([(b"a", b"")] * 4) or "")
    assert "30 bytes in all" in (limits.problem([(b"aa", b"x" * 10)] * 3) or "")


def test_serve_and_dev_give_uvicorn_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in list(os.environ):
        if name.startswith("IB_BRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IB_BRIDGE_DEV", "1")
    monkeypatch.setenv("IB_BRIDGE_SERVER_KEEP_ALIVE_TIMEOUT", "7")
    monkeypatch.setenv("IB_BRIDGE_MAX_HEADER_BYTES", "20000")
    assert cli.run_serve("127.0.0.1", 0, 1) == 0
    options = calls[0]
    assert options["timeout_keep_alive"] == 7
    assert options["h11_max_incomplete_event_size"] > 20000  # the app's 431 speaks first
    assert options["limit_concurrency"] is None
    assert options["server_header"] is False
    # uvicorn's default would believe X-Forwarded-For from 127.0.0.1 (IB_BRIDGE_TRUSTED_PROXIES
    # decides instead; tests/deployment/test_deploy_serve.py shows it over a socket).
    assert options["proxy_headers"] is False
    assert cli.server_limits(Settings.from_env({"IB_BRIDGE_DEV": "1"}))["server_header"] is False
